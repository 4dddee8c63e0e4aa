"""The command line: python -m study stage=variance ... (in process, and as a process)."""

from __future__ import annotations

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
        "posterior.zarr.zip",
        "shares.png",
        "components.png",
        "reml.csv",
        "c1.txt",
        "d_study.csv",
        "fingerprint.json",
    }
    assert expected <= {p.name for p in out.iterdir()}
    components = pd.read_csv(out / "components.csv")
    assert list(components["component"]) == [*FACTORS, "run"]
    assert components["passed"].all()
    assert (out / "c1.txt").read_text().startswith("C1 ")
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
