"""The simulation experiment end to end: synthetic data, simulated engine, V1, report."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

from study.config import Config
from study.pipeline.jobs import job_of
from study.pipeline.outputs import read_manifests
from study.pipeline.stage import run


def test_recovers_the_components_that_generated_the_data(
    simulation_run: tuple[Config, Path],
) -> None:
    _, out = simulation_run
    table = pl.read_csv(out / "tables" / "simulation_recovery.csv")
    assert set(table["component"]) == {"person", "persona", "person:persona", "item"}
    assert (table["diagnostics"] == "passed").all(), table
    # Each 94% interval covers the variance of the effects the engine drew for these
    # levels; the persons (24 levels) also cover the population variance.
    assert table["covers_realized"].all(), table
    person = table.filter(pl.col("component") == "person").row(0, named=True)
    assert person["covers_true"], person


def test_writes_the_output_contract(simulation_run: tuple[Config, Path]) -> None:
    _, out = simulation_run
    report = (out / "report.md").read_text()
    assert "## Ground truth: the simulation" in report
    assert "## Provenance" in report and "git_commit" in report
    assert "figures/simulation_recovery.png" in report
    for name in ("simulation_recovery.png", "simulation_recovery.pdf"):
        assert (out / "figures" / name).stat().st_size > 1000
    for ext in ("csv", "md", "tex"):
        assert (out / "tables" / f"simulation_recovery.{ext}").exists()
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html


def _store_rows(out: Path) -> int:
    # Every record of every shard: a recomputed request would add one.
    return sum(p.read_bytes().count(b"\n") for p in (out / "responses").glob("*.jsonl"))


def test_rerun_recomputes_nothing(simulation_run: tuple[Config, Path]) -> None:
    cfg, out = simulation_run
    markers = sorted(out.glob("stages/*/_done.json"))
    before = {p: p.stat().st_mtime_ns for p in markers}
    rows = _store_rows(out)
    run(cfg)
    assert sorted(out.glob("stages/*/_done.json")) == markers
    assert {p: p.stat().st_mtime_ns for p in markers} == before
    assert _store_rows(out) == rows


def test_changing_a_setting_recomputes_only_what_depends_on_it(
    simulation_run: tuple[Config, Path],
) -> None:
    from dataclasses import replace

    cfg, out = simulation_run
    steps_before = {p.name for p in (out / "stages").iterdir()}
    changed = replace(cfg, pipeline=replace(cfg.pipeline, draws=cfg.pipeline.draws + 100))
    run(changed)
    new = {p.name for p in (out / "stages").iterdir()} - steps_before
    # Only the variance fit depends on the number of draws.
    assert len(new) == 1 and next(iter(new)).startswith("v1-"), new
    # Another config is another job: its own manifest beside the first's, and a report
    # of its own results only.
    assert len(list((out / "manifests").glob("simulation-*.json"))) == 2
    (manifest,) = read_manifests(out, "simulation")
    assert manifest["job"] == job_of(changed).key
    assert Path(manifest["steps"]["v1"]).name in new
    block = yaml.safe_load((out / "provenance.yaml").read_text())
    assert {n for n in block["steps"] if n.startswith("v1-")} == new
    assert block["config"]["pipeline"]["draws"] == changed.pipeline.draws
    # The first config's report again, when it is run again: its own fit, no other.
    run(cfg)
    (manifest,) = read_manifests(out, "simulation")
    assert manifest["job"] == job_of(cfg).key and Path(manifest["steps"]["v1"]).name not in new
