"""The command line: python -m study stage=variance ... (in process, and as a process)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from study.config import Config
from study.errors import DiagnosticsFailedError, StudyInputError
from study.variance.config import VarianceConfig
from study.variance.stage import run

ROOT = Path(__file__).resolve().parents[2]
FACTORS = ["person", "persona", "person:persona"]


def _config(path: Path, out: Path, **changes) -> Config:
    settings = VarianceConfig(
        input=str(path), outcome="y", family="gaussian", factors=FACTORS, progress=False, **changes
    )
    return Config(stage="variance", out=str(out), seed=2, variance=settings)


def test_stage_writes_every_output_and_does_not_refit(gaussian_sim, tmp_path):
    data = tmp_path / "ratings.csv"
    gaussian_sim.data.to_csv(data, index=False)
    out = tmp_path / "fit"
    run(_config(data, out))
    expected = {
        "components.csv",
        "diagnostics.csv",
        "posterior.nc",
        "shares.png",
        "components.png",
        "reml.csv",
        "c1.json",
        "d_study.csv",
        "fingerprint.json",
    }
    assert expected <= {p.name for p in out.iterdir()}
    components = pd.read_csv(out / "components.csv")
    assert list(components["component"]) == [*FACTORS, "run"]
    assert components["passed"].all()
    assert json.loads((out / "c1.json").read_text())["statement"].startswith("C1 ")
    stamp = (out / "components.csv").stat().st_mtime_ns
    run(_config(data, out))  # same config and input: up to date, nothing rewritten
    assert (out / "components.csv").stat().st_mtime_ns == stamp


def test_bad_input_leaves_no_output(gaussian_sim, tmp_path):
    broken = gaussian_sim.data.astype({"y": object})
    broken.loc[10, "y"] = "oops"
    data = tmp_path / "broken.csv"
    broken.to_csv(data, index=False)
    out = tmp_path / "fit"
    with pytest.raises(StudyInputError) as caught:
        run(_config(data, out))
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(data), 12, "y")
    assert not out.exists()


def test_failed_gate_writes_marked_outputs_then_raises(gaussian_sim, tmp_path):
    data = tmp_path / "ratings.csv"
    gaussian_sim.data.to_csv(data, index=False)
    out = tmp_path / "fit"
    with pytest.raises(DiagnosticsFailedError):
        run(_config(data, out, draws=20, tune=30))
    assert not pd.read_csv(out / "components.csv")["passed"].any()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "study", "stage=variance", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_exit_status_2_on_bad_input(tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("person,persona,y\na,p,1\nb,q,maybe\n")
    done = _cli(
        f"variance.input={data}",
        "variance.family=bernoulli",
        "variance.factors=[person,persona]",
        f"out={tmp_path / 'out'}",
    )
    assert done.returncode == 2, done.stderr
    assert f"{data}:3" in done.stderr and "field 'y'" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_exit_status_3_when_the_gate_fails(gaussian_sim, tmp_path):
    data = tmp_path / "ratings.csv"
    gaussian_sim.data.head(60).to_csv(data, index=False)
    done = _cli(
        f"variance.input={data}",
        "variance.factors=[person,persona]",
        "variance.draws=10",
        "variance.tune=10",
        "variance.progress=false",
        f"out={tmp_path / 'out'}",
    )
    assert done.returncode == 3, done.stderr
    assert "diagnostics failed" in done.stderr
    assert (tmp_path / "out" / "diagnostics.csv").exists()


def test_posterior_nc_is_netcdf_that_xarray_and_arviz_open(bernoulli_fit, tmp_path):
    import arviz
    import numpy as np
    import xarray as xr

    from study.variance import save_fit, save_tree
    from study.variance.outputs import SAVED_GROUPS, reported

    names = save_fit(bernoulli_fit, lambda name: tmp_path / name)
    assert "posterior.nc" in names
    path = tmp_path / "posterior.nc"
    assert path.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n", "netCDF-4 is an HDF5 file"
    expected = bernoulli_fit.tree["posterior"]["data_share"]
    for opened in (xr.open_datatree(path), arviz.from_netcdf(path)):
        with opened as tree:
            assert {"posterior", "sample_stats"} <= set(tree.children)
            shares = tree["posterior"]["data_share"]
            assert shares.dims == expected.dims
            np.testing.assert_array_equal(shares.values, expected.values)
            assert list(shares["data_component"].values) == list(expected["data_component"].values)
            assert tree["sample_stats"]["diverging"].dtype == bool
    # The same posterior gives the same bytes (no creation times in the file).
    save_tree(reported(bernoulli_fit.tree), tmp_path / "again.nc", groups=SAVED_GROUPS)
    assert (tmp_path / "again.nc").read_bytes() == path.read_bytes()


def test_pipeline_v1_step_and_stage_write_the_same_files(tmp_path):
    """Both ways of fitting V1 go through save_fit, so a reader of one finds the same
    files in the other."""
    import polars as pl

    from study.pipeline.config import PipelineConfig
    from study.pipeline.respond_steps import v1_step
    from study.pipeline.steps import DONE_MARKER, StepOutput
    from study.variance import simulate

    sds = {"participant": 1.0, "persona": 0.6, "participant:persona": 0.4, "item": 0.7}
    design = {"participant": 6, "persona": 3, "item": 3}
    sim = simulate(design, sds, family="bernoulli", runs=2, seed=4)
    samples = pl.from_pandas(sim.data).select(
        "participant",
        "persona",
        "run",
        experiment=pl.lit("exp"),
        choice=pl.col("item").str.strip_prefix("item").cast(pl.Int64),
        match=pl.col("y").cast(pl.Boolean),
    )
    respond = tmp_path / "respond-step"
    (respond / "respond").mkdir(parents=True)
    samples.write_parquet(respond / "respond" / "samples.parquet")
    sampling = {"draws": 100, "tune": 100, "chains": 2}
    cfg = Config(seed=3, pipeline=PipelineConfig(**sampling))
    step = v1_step(cfg, tmp_path / "pipeline", StepOutput("respond", "k", respond, True), "x")

    table = tmp_path / "samples.csv"
    samples.with_columns(
        item=pl.concat_str("experiment", pl.col("choice").cast(pl.String), separator=":"),
        match=pl.col("match").cast(pl.Int64),
    ).write_csv(table)
    settings = VarianceConfig(
        input=str(table),
        outcome="match",
        family="bernoulli",
        factors=["participant", "persona", "participant:persona", "item"],
        residual="run",
        progress=False,
        **sampling,
    )
    out = tmp_path / "stage"
    # So few draws may fail the gate: the outputs are written all the same.
    with contextlib.suppress(DiagnosticsFailedError):
        run(Config(stage="variance", out=str(out), seed=3, variance=settings))
    stage_files = set(json.loads((out / "fingerprint.json").read_text())["files"])
    step_files = {p.name for p in step.path.iterdir()} - {DONE_MARKER, "provenance.yaml"}
    assert stage_files == step_files
    assert {"posterior.nc", "c1.json", "components.csv", "d_study.csv"} <= stage_files
