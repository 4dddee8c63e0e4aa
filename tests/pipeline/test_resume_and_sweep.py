"""A pipeline killed part-way resumes to the same outputs; sweeps run through submitit."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from study.config import Config
from study.store import ResponseStore
from tests.pipeline.conftest import SMALL_SIMULATION

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "study", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored(folder: Path) -> int:
    with ResponseStore(folder) as store:
        return len(store)


def test_killed_run_resumes_to_the_uninterrupted_outputs(
    simulation_run: tuple[Config, Path], tmp_path: Path
) -> None:
    _, reference = simulation_run
    out = tmp_path / "killed"
    args = [*SMALL_SIMULATION, f"out={out}"]
    proc = _cli(args)
    deadline = time.monotonic() + 120
    # SIGKILL as soon as the first engine results are committed: mid-way through the
    # responses, or at the latest during the variance fit that follows them.
    while _stored(out / "responses") == 0 and proc.poll() is None:
        assert time.monotonic() < deadline, "the run never stored a response"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "report.md").exists()

    resumed = _cli(args)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err

    for pattern in (
        "stages/respond-*/respond/samples.parquet",
        "stages/respond-*/respond/scores.parquet",
    ):
        (ours,) = out.glob(pattern)
        (theirs,) = reference.glob(pattern)
        assert pl.read_parquet(ours).equals(pl.read_parquet(theirs)), pattern
    ours_table = pl.read_csv(out / "tables" / "simulation_recovery.csv")
    theirs_table = pl.read_csv(reference / "tables" / "simulation_recovery.csv")
    assert ours_table.equals(theirs_table)


def test_two_job_sweep_through_submitit_local(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    # An earlier job under the same out=, with other settings: not part of the sweep,
    # so not part of its report (its manifest points nowhere: reading it would fail).
    stale = out / "jobs" / "0123456789"
    stale.mkdir(parents=True)
    (stale / "job.json").write_text(json.dumps({"key": "0123456789" * 6, "config": {}}))
    (out / "manifests").mkdir()
    (out / "manifests" / "simulation-0123456789.json").write_text(
        json.dumps({"analysis": "simulation", "job": "0123456789" * 6, "steps": {}})
    )
    proc = _cli(
        [
            "-m",
            "experiment=simulation",
            "synth.participants=6,8",
            "runs=2",
            "pipeline.draws=100",
            "pipeline.tune=100",
            "pipeline.chains=2",
            f"out={out}",
            "hydra/launcher=submitit_local",
        ]
    )
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    # Two jobs, each with its own synthetic data, responses and fit, in one output root.
    for step in ("synth", "respond-simulated", "v1-simulated"):
        assert len(list(out.glob(f"stages/{step}-*/_done.json"))) == 2, step
    assert len(list(out.glob("multirun/.submitit/*/*_result.pkl"))) == 2
    # Neither job's manifest overwrote the other's.
    manifests = [json.loads(p.read_text()) for p in out.glob("manifests/simulation-*.json")]
    fits = {m["job"]: m["steps"]["v1"] for m in manifests if m["steps"]}
    assert len(fits) == 2 and len(set(fits.values())) == 2
    # The callback rebuilt the report once the sweep had ended: one section per job,
    # headed by the override that tells it apart, each showing its own job's results.
    report = (out / "report.md").read_text()
    sections = report.split("## Job ")[1:]
    assert [s.splitlines()[0] for s in sections] == [
        "1 of 2: synth.participants=6",
        "2 of 2: synth.participants=8",
    ]
    tables = []
    for section, participants in zip(sections, (6, 8), strict=True):
        assert "### Ground truth: the simulation" in section
        assert f"Rests on: {participants} persons in 1 experiment" in section
        (folder,) = re.findall(r"\(jobs/(\w+)/figures/simulation_recovery.png\)", section)
        tables.append(pl.read_csv(out / "jobs" / folder / "tables" / "simulation_recovery.csv"))
    assert not tables[0].equals(tables[1])
    assert "0123456789" not in report
