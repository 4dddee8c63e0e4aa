"""engine=openai through the command line: the API key reaches the server and nothing
the run writes or prints (parquet outputs, the response store, logs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.vllm

REPO = Path(__file__).resolve().parents[2]
KEY_ENV = "STUDY_TEST_OPENAI_KEY"


def test_key_is_absent_from_everything_the_respond_stage_writes(proxy, tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "study",
        "stage=respond",
        "engine=openai",
        f"engine.url={proxy.url}",
        f"engine.api_key_env={KEY_ENV}",
        "model=smollm2_135m",
        f"data.path={REPO / 'data' / 'psych201' / 'thoma2025riskychoice'}",
        "data.limit=1",
        "personas=[none]",
        "runs=1",
        f"out={out}",
    ]
    completed = subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, KEY_ENV: proxy.key},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"Bearer {proxy.key}" in proxy.authorizations
    written = [path for path in out.rglob("*") if path.is_file()]
    assert {"scores.parquet", "samples.parquet"} <= {path.name for path in written}
    for path in written:
        assert proxy.key.encode() not in path.read_bytes(), path
    assert proxy.key not in completed.stdout + completed.stderr
