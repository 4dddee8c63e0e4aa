"""The library's shape: public names in one place, no import circle, stateless families."""

from __future__ import annotations

import ast
from pathlib import Path

import study.variance
from study.variance.families import FAMILIES

PACKAGE = Path(study.variance.__file__).parent


def _imports(path: Path) -> set[str]:
    """The study.variance modules a module imports at run time (``TYPE_CHECKING`` blocks
    are for type checkers only and are left out)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if node.module.startswith("study.variance."):
            found.add(node.module.removeprefix("study.variance."))
    return found


def test_no_module_of_the_library_imports_itself_in_a_circle():
    graph = {path.stem: _imports(path) for path in PACKAGE.glob("*.py") if path.stem != "__init__"}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for module in graph.get(start, ()):
            if module == target or (
                module not in seen and reaches(module, target, seen | {module})
            ):
                return True
        return False

    circles = [module for module in graph if reaches(module, module, set())]
    assert not circles, circles


def test_every_public_name_loads_from_the_package():
    for name in study.variance.__all__:
        assert getattr(study.variance, name) is not None
    assert {"VarianceModel", "fit", "compare_shares", "IndividuationResult"} <= set(
        study.variance.__all__
    )


def test_families_keep_no_state_between_fits():
    for family in FAMILIES.values():
        assert not {k: v for k, v in vars(family).items() if k != "categories"}
