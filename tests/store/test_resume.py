"""A respond run killed with SIGKILL part-way resumes to exactly the uninterrupted result.

Uses the real command line, the real store and the simulated engine on the shipped
thoma2025riskychoice data (301 participants x 3 personas x (1 score + 3 runs) = 3,612
requests), so the kill lands while requests are being committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from study.respond import respond
from study.store import ResponseStore

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "psych201" / "thoma2025riskychoice"
TOTAL_REQUESTS = 301 * 3 * (1 + 3)
OUTPUTS = ("scores.parquet", "samples.parquet")


def command(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "study",
        "stage=respond",
        f"data.path={DATA}",
        "personas=[none,own,other]",
        "runs=3",
        f"out={out}",
        *extra,
    ]


def stored_rows(store: Path) -> int:
    with ResponseStore(store) as opened:
        return len(opened)


def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path: Path, compose_config) -> None:
    killed_dir = tmp_path / "killed"
    store = killed_dir / "responses"
    process = subprocess.Popen(
        command(killed_dir), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 180
    while stored_rows(store) < 300 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    at_kill = stored_rows(store)
    assert process.returncode == -signal.SIGKILL
    assert 0 < at_kill < TOTAL_REQUESTS, "the kill must land part-way through the run"
    assert not (killed_dir / "scores.parquet").exists(), "no output before the run finishes"

    # Resume in-process with the configuration the command line builds.
    overrides = command(killed_dir)[3:]
    resumed = respond(compose_config(*overrides), progress=False)
    assert resumed.reused >= at_kill
    assert resumed.computed + resumed.reused == TOTAL_REQUESTS
    assert stored_rows(store) == TOTAL_REQUESTS
    resumed_bytes = {name: (killed_dir / name).read_bytes() for name in OUTPUTS}

    samples = pl.read_parquet(killed_dir / "samples.parquet")
    keys = ["participant", "persona", "run", "choice"]
    assert samples.select(keys).is_duplicated().sum() == 0
    assert samples.select("participant", "persona", "run").unique().height == 301 * 3 * 3

    # fresh=true recomputes every request (an uninterrupted run) and, the engine being
    # deterministic, lands on the same bytes.
    again = respond(compose_config(*overrides, "fresh=true"), progress=False)
    assert (again.computed, again.reused) == (TOTAL_REQUESTS, 0)
    for name in OUTPUTS:
        assert (killed_dir / name).read_bytes() == resumed_bytes[name], name
