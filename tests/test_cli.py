"""The command line's contract: exit codes and messages for bad configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "study", *args], cwd=cwd, capture_output=True, text=True
    )


def test_unknown_key_is_a_configuration_error(tmp_path: Path) -> None:
    result = run_cli("data.pth=x", f"out={tmp_path / 'o'}")
    assert result.returncode == 2
    assert "pth" in result.stderr + result.stdout
    assert not (tmp_path / "o").exists()


def test_wrong_type_is_a_configuration_error(tmp_path: Path) -> None:
    result = run_cli("data.limit=many", f"out={tmp_path / 'o'}")
    assert result.returncode == 2
    assert "data.limit" in result.stderr + result.stdout


def test_unknown_stage_names_the_known_ones(tmp_path: Path) -> None:
    result = run_cli("stage=nonsense", f"out={tmp_path / 'o'}")
    assert result.returncode == 2
    assert "unknown stage 'nonsense'" in result.stderr
    assert "data" in result.stderr
