"""The code version of a step: what counts (the code it runs) and what does not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from study.code_version import code_modules, code_version

# A made-up package: `steps` has two step functions; `fit` is what one of them runs.
FILES = {
    "__init__.py": '"""pkg."""\n',
    "fit.py": (
        '"""Fitting."""\n\nfrom pkg import helpers\n\n\n'
        "def fit(x):\n    return helpers.double(x) + 1\n"
    ),
    "helpers.py": "def double(x):\n    return 2 * x\n",
    "unused.py": "VALUE = 1\n",
    "steps.py": (
        "from pkg.helpers import double\n\nSCALE = 3\n\n\n"
        "def shared(x):\n    return x * SCALE\n\n\n"
        "def fit_step(x):\n"
        '    """Runs the fit."""\n'
        "    from pkg.fit import fit\n\n"
        "    return fit(shared(x))\n\n\n"
        "def other_step(x):\n    return double(x)\n"
    ),
}


def _package(where: Path, **changes: str) -> Path:
    """The package under ``where``, with files replaced by ``changes`` (file stem -> text)."""
    root = where / "pkg"
    root.mkdir(parents=True)
    for name, text in FILES.items():
        (root / name).write_text(changes.get(name.removesuffix(".py"), text))
    return root


def _versions(tmp_path: Path, label: str, **changes: str) -> dict[str, str]:
    root = _package(tmp_path / label, **changes)
    targets = ["pkg.steps:fit_step", "pkg.steps:other_step", "pkg.fit"]
    return {t: code_version(t, root=root) for t in targets}


def test_comments_docstrings_and_layout_do_not_count(tmp_path: Path) -> None:
    base = _versions(tmp_path, "base")
    edited = FILES["fit.py"].replace('"""Fitting."""', '"""Fitting, documented better."""')
    edited = edited.replace("    return helpers", "    # a comment\n\n    return  helpers")
    assert _versions(tmp_path, "edited", fit=edited) == base


def test_a_change_counts_where_the_code_runs(tmp_path: Path) -> None:
    base = _versions(tmp_path, "base")
    # A change to `helpers` reaches both steps (the fit step through `fit`, the other
    # directly); one to `unused`, which no step imports, reaches neither.
    helper = _versions(tmp_path, "helper", helpers="def double(x):\n    return 3 * x\n")
    assert helper["pkg.steps:fit_step"] != base["pkg.steps:fit_step"]
    assert helper["pkg.steps:other_step"] != base["pkg.steps:other_step"]
    unused = _versions(tmp_path, "unused", unused="VALUE = 2\n")
    assert unused == base
    # Within one module: a step counts its own function and the definitions it uses.
    constant = _versions(tmp_path, "constant", steps=FILES["steps.py"].replace("= 3", "= 4"))
    assert constant["pkg.steps:fit_step"] != base["pkg.steps:fit_step"]
    assert constant["pkg.steps:other_step"] == base["pkg.steps:other_step"]


def test_a_step_lists_the_modules_it_runs(tmp_path: Path) -> None:
    root = _package(tmp_path)
    assert code_modules("pkg.steps:fit_step", root=root) == ["pkg", "pkg.fit", "pkg.helpers"]
    assert code_modules("pkg.steps:other_step", root=root) == ["pkg", "pkg.helpers"]
    with pytest.raises(ValueError, match="defines no 'missing'"):
        code_version("pkg.steps:missing", root=root)


def test_the_pipeline_steps_run_their_own_code() -> None:
    """The real steps: a V1 fit counts the variance library and not the engines or the
    report; the respond step counts the prompts and the store, not the variance models."""
    v1 = code_modules("study.pipeline.respond_steps:v1_step")
    assert "study.variance.fit" in v1 and "study.pipeline.report" not in v1
    assert not any(m.startswith("study.engines") for m in v1)
    respond = code_modules("study.pipeline.respond_steps:respond_step")
    assert {"study.personas.render", "study.store.keys", "study.respond.stage"} <= set(respond)
    assert not any(m.startswith("study.variance") for m in respond)
    # Modules that cannot change a number never count (see study.code_version.IGNORED).
    assert "study.config" not in respond and "study.errors" not in respond


def test_an_edit_to_the_copy_of_a_real_step_changes_its_version(tmp_path: Path) -> None:
    """The same on a copy of the real package: one line more in the V1 code."""
    study = Path(__file__).resolve().parents[2] / "study"
    copy = tmp_path / "study"
    shutil.copytree(study, copy, ignore=shutil.ignore_patterns("__pycache__", "_conf", "_analysis"))
    target = "study.pipeline.respond_steps:v1_step"
    before = code_version(target, root=copy)
    fit = copy / "variance" / "fit.py"
    fit.write_text(fit.read_text() + "\nCHANGED = True\n")
    changed = tmp_path / "changed" / "study"
    shutil.copytree(copy, changed)
    assert code_version(target, root=changed) != before
    assert code_version("study.pipeline.inputs:data_step", root=changed) == code_version(
        "study.pipeline.inputs:data_step", root=copy
    )
