"""The version of the code that computes a result: a hash of that code's syntax tree.

A cached result is only as good as the code that made it, so every pipeline step's key
and every engine's fingerprint carries the version of its code. Two ways were on the
table: a version string per step, bumped by hand, or a hash of the code the step runs.
This module does the second, because a hand-bumped string is silently forgotten (the
failure it exists to prevent: new code stamped on old results), while a hash is never
forgotten. Its cost is bounded by hashing the *syntax tree* (``ast``) with docstrings
removed, not the file's bytes: comments, docstrings, blank lines and formatting change
nothing; a change the parser sees (even a rename that leaves results equal) recomputes,
which costs time, never a wrong result.

What "the code" is, for a target ``"study.x.y"`` (a module) or ``"study.x.y:name"`` (one
top-level function or class of a module):

- for a module: its tree, and that of every ``study`` module it imports, transitively
  (imports inside functions included; the packages' ``__init__`` modules too);
- for a function: its own tree and those of the module-level definitions of its module
  that it names (helpers, constants), transitively, and every ``study`` module those
  import; the rest of its module does not count, so one module can hold several steps.

Not followed: :data:`IGNORED`, modules that cannot change a number (the configuration
schema, whose values reach a step's key as config; the step cache itself; error types;
atomic file publishing). Modules a registry imports by name at run time (the engines)
are not seen by imports: their own fingerprint carries their version.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT_PACKAGE = "study"
_ROOT = Path(__file__).resolve().parent

# Modules whose edits never change a result (see the module docstring).
IGNORED = frozenset(
    {
        "study.config",
        "study.pipeline.steps",
        "study.code_version",
        "study.errors",
        "study.atomic",
    }
)


@dataclass(frozen=True)
class _Package:
    """Where a package's modules are: its name and folder (tests use a made-up one)."""

    name: str
    folder: Path
    ignored: frozenset[str] = frozenset()


_STUDY = _Package(ROOT_PACKAGE, _ROOT, IGNORED)


def code_version(target: str, *, root: Path | None = None) -> str:
    """sha256 (hex) of the code of ``target`` (``"module"`` or ``"module:name"``).

    ``root``: the folder of the top-level package the target lies in; by default this
    package, ``study`` (whose :data:`IGNORED` modules do not count).

    >>> code_version("study.records") == code_version("study.records")
    True
    >>> code_version("study.records") != code_version("study.engines.seeds")
    True
    """
    return _version(_package(root), target)


def code_modules(target: str, *, root: Path | None = None) -> list[str]:
    """The modules whose code counts for ``target``, sorted (to inspect a version)."""
    return sorted(_parts(_package(root), target)[1])


def _package(root: Path | None) -> _Package:
    if root is None:
        return _STUDY
    # A copy of this package keeps its list of modules that do not count.
    return _Package(
        root.name, root.resolve(), IGNORED if root.name == ROOT_PACKAGE else frozenset()
    )


@cache
def _version(package: _Package, target: str) -> str:
    trees, modules = _parts(package, target)
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(f"module {name}\n{_dump(_tree(package, name))}\n".encode())
    for label, text in sorted(trees.items()):
        digest.update(f"definition {label}\n{text}\n".encode())
    return digest.hexdigest()


def _parts(package: _Package, target: str) -> tuple[dict[str, str], set[str]]:
    """(dumped trees of a function target's definitions by label, modules that count)."""
    module, _, name = target.partition(":")
    if _path(package, module) is None:
        raise ValueError(f"code version of {target!r}: no module {module!r}")
    if not name:
        return {}, _closure(package, {module})
    definitions = _top_level(package, module)
    if name not in definitions:
        raise ValueError(f"code version of {target!r}: {module} defines no {name!r}")
    imports = _module_imports(package, module)
    seen: set[str] = set()
    todo = [name]
    imported: set[str] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        node = definitions[current]
        imported |= _imports_in(package, module, node)
        for used in _names(node):
            if used in definitions:
                todo.append(used)
            elif used in imports:
                imported.add(imports[used])
    trees = {f"{module}:{n}": _dump(definitions[n]) for n in seen}
    return trees, _closure(package, imported | _parents(module))


def _closure(package: _Package, start: set[str]) -> set[str]:
    """``start`` and every module of ``package`` they import, transitively."""
    found: set[str] = set()
    todo = [m for m in start if m not in package.ignored]
    while todo:
        module = todo.pop()
        if module in found or module in package.ignored:
            continue
        found.add(module)
        todo.extend(_imports_in(package, module, _tree(package, module)))
        todo.extend(_parents(module))
    return found


def _parents(module: str) -> set[str]:
    """The packages above ``module`` (importing it runs their ``__init__``)."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _path(package: _Package, module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != package.name:
        return None
    base = package.folder.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _own(package: _Package, dotted: str) -> str | None:
    """The module of ``package`` that ``dotted`` (a module or a name in one) lies in."""
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        if _path(package, candidate) is not None:
            return candidate
        parts.pop()
    return None


@cache
def _tree(package: _Package, module: str) -> ast.Module:
    path = _path(package, module)
    assert path is not None, module
    return _without_docstrings(ast.parse(path.read_text(), str(path)))


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=True, include_attributes=False)


def _is_package(package: _Package, module: str) -> bool:
    path = _path(package, module)
    return path is not None and path.name == "__init__.py"


def _absolute(package: _Package, module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not _is_package(package, module):
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports_in(package: _Package, module: str, node: ast.AST) -> set[str]:
    """The modules of ``package`` that the import statements under ``node`` load."""
    found: set[str] = set()
    for statement in ast.walk(node):
        if isinstance(statement, ast.Import):
            dotted = [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom):
            source = _absolute(package, module, statement)
            dotted = [source, *(f"{source}.{alias.name}" for alias in statement.names)]
        else:
            continue
        found |= {own for name in dotted if (own := _own(package, name)) is not None}
    return found


def _module_imports(package: _Package, module: str) -> dict[str, str]:
    """Names bound by the module's top-level imports -> the ``package`` module behind them."""
    bound: dict[str, str] = {}
    for statement in _tree(package, module).body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                own = _own(package, alias.name)
                if own is not None:
                    bound[alias.asname or alias.name.split(".")[0]] = own
        elif isinstance(statement, ast.ImportFrom):
            source = _absolute(package, module, statement)
            for alias in statement.names:
                own = _own(package, f"{source}.{alias.name}")
                if own is not None:
                    bound[alias.asname or alias.name] = own
    return bound


def _top_level(package: _Package, module: str) -> dict[str, ast.stmt]:
    """The module's top-level functions, classes and assigned names."""
    found: dict[str, ast.stmt] = {}
    for statement in _tree(package, module).body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[statement.name] = statement
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found[name.id] = statement
    return found


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
