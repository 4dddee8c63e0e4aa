"""A step is keyed by everything that made it: a changed code version recomputes that
step and what follows it, nothing else; fresh=true recomputes every step of the run;
each step folder records its provenance; a report names steps made by older code."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
import yaml

import study.pipeline.steps as steps
from study.code_version import code_version
from study.config import Config
from study.engines.config import SimulatedEngineConfig
from study.engines.simulated import SimulatedEngine
from study.pipeline.jobs import job_of
from study.pipeline.respond_steps import respond_step
from study.pipeline.stage import run, write_report
from study.pipeline.steps import StepOutput
from tests.pipeline.conftest import make_config

# A pipeline run in seconds: its fit need not pass the diagnostics gate.
TINY = [
    "experiment=simulation",
    "synth.participants=6",
    "synth.trials=4",
    "runs=2",
    "pipeline.sample_personas=[none,own]",
    "pipeline.draws=60",
    "pipeline.tune=60",
    "pipeline.chains=1",
]


def _tiny(out: Path) -> Config:
    return make_config([*TINY, f"out={out}"])


def _markers(out: Path) -> dict[str, int]:
    """Step folder -> when its done marker was written."""
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("stages/*/_done.json")}


def _bump(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """As if the code of ``target`` had changed (its code version differs)."""
    real = steps.code_version

    def bumped(code: str) -> str:
        return real(code) + ("-changed" if code == target else "")

    monkeypatch.setattr(steps, "code_version", bumped)


def _new_folders(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {name.rsplit("-", 1)[0] for name in set(after) - set(before)}


def test_a_changed_code_version_recomputes_its_step_and_what_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _tiny(tmp_path)
    run(cfg)
    first = _markers(tmp_path)
    assert _new_folders({}, first) == {"synth", "respond-simulated", "v1-simulated"}
    stored = sum(1 for p in (tmp_path / "responses").glob("*.jsonl") for _ in p.open())

    with monkeypatch.context() as patch:
        _bump(patch, "study.pipeline.respond_steps:v1_step")
        run(cfg)
        after_fit = _markers(tmp_path)
        # Only the fit is new; the steps before it were reused, untouched.
        assert _new_folders(first, after_fit) == {"v1-simulated"}
        assert {n: after_fit[n] for n in first} == first

        # The report built with today's code (the bump undone) names the step made by
        # "older" code: the bumped fit is not what today's code computes.
        patch.undo()
        write_report(tmp_path, [job_of(cfg, [])])
        block = yaml.safe_load((tmp_path / "provenance.yaml").read_text())
        (fit,) = (n for n in block["outdated"] if n.startswith("v1-"))
        assert block["outdated"][fit] == ["code"]
        assert fit in (tmp_path / "report.md").read_text().split("## Ground truth")[0]

    with monkeypatch.context() as patch:
        _bump(patch, "study.pipeline.inputs:synth_step")
        run(cfg)
        after_synth = _markers(tmp_path)
        # The synthetic data and every step downstream of it: new folders.
        assert _new_folders(after_fit, after_synth) == {
            "synth",
            "respond-simulated",
            "v1-simulated",
        }
    # The recomputed respond step asked the engine nothing: every request was stored.
    assert sum(1 for p in (tmp_path / "responses").glob("*.jsonl") for _ in p.open()) == stored
    (respond,) = (n for n in set(after_synth) - set(after_fit) if n.startswith("respond-"))
    assert json.loads((tmp_path / "stages" / respond / "_done.json").read_text())["computed"] == 0


def test_fresh_recomputes_every_step_once_and_steps_record_their_provenance(
    tmp_path: Path,
) -> None:
    cfg = _tiny(tmp_path)
    run(cfg)
    before = _markers(tmp_path)
    run(replace(cfg, fresh=True))
    after = _markers(tmp_path)
    # The same steps (same keys), every one computed again.
    assert set(after) == set(before)
    assert all(after[name] > before[name] for name in before)

    for folder in (tmp_path / "stages").iterdir():
        record = yaml.safe_load((folder / "provenance.yaml").read_text())
        assert {"code_version", "packages", "git_commit", "config"} <= set(record)
        assert record["key"].startswith(folder.name.rsplit("-", 1)[1])
        assert record["code_version"] == code_version(record["code"])
        assert record["seconds"] >= 0 and record["seed"] == 0
    respond = next((tmp_path / "stages").glob("respond-*"))
    record = yaml.safe_load((respond / "provenance.yaml").read_text())
    assert record["engine"]["code_version"] == code_version("study.engines.simulated")
    assert record["config"]["engine_code_version"] == code_version("study.engines.simulated")
    fit = yaml.safe_load(
        next((tmp_path / "stages").glob("v1-*")).joinpath("provenance.yaml").read_text()
    )
    assert set(fit["packages"]) >= {"pymc", "nutpie", "arviz"}
    assert fit["packages"]["pymc"] not in ("", "not installed")

    # The report lists the model the responses came from and every step's record.
    block = yaml.safe_load((tmp_path / "provenance.yaml").read_text())
    assert block["models"] == [{"engine": "simulated", "model": "simulated", "model_sha256": ""}]
    assert set(block["steps"]) == set(after) and block["outdated"] == {}


def test_the_respond_step_is_keyed_by_the_model_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_respond(cfg: Config, people: list) -> SimpleNamespace:
        return SimpleNamespace(computed=0, reused=0, scores=pl.DataFrame(), samples=pl.DataFrame())

    monkeypatch.setattr("study.respond.stage.respond", fake_respond)
    monkeypatch.setenv("STUDY_MODEL_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "model.gguf"
    cfg = Config()
    data = StepOutput("data", "d" * 64, tmp_path / "data", reused=True)

    def key() -> str:
        model = replace(cfg.model, name="m", gguf=str(weights))
        engine = SimulatedEngineConfig()
        return respond_step(
            cfg, tmp_path, data, [], engine=engine, model=model, personas=["none"], runs=0
        ).key

    weights.write_bytes(b"weights one")
    one = key()
    assert key() == one
    weights.write_bytes(b"weights two, another file")
    assert key() != one


def test_the_engine_fingerprint_carries_the_engine_code_version() -> None:
    fingerprint = SimulatedEngine(SimulatedEngineConfig()).fingerprint()
    assert fingerprint["code_version"] == code_version("study.engines.simulated")
