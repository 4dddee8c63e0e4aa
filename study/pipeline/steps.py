"""Pipeline steps whose outputs are keyed by everything that made them.

A step's folder is ``ROOT/stages/NAME-DIGEST`` where the digest hashes the step's
parameters (its slice of the config, the model file's sha256 for an engine step), the
keys of the steps it reads, the version of the code that computes it and the versions of
the packages that do (PyMC, nutpie, llama-cpp-python, ...). A change to any of them is
another folder, so it recomputes that step and, through the input keys, every step
downstream of it, and nothing else.

The code version is :func:`study.code_version.code_version` of the step function (a
hash of its syntax tree and of the ``study`` modules it imports; see that module for why
a hash and not a hand-bumped string). A step names its function as ``"module:function"``
and the distributions it runs on; both are recorded, so a report can tell a result made
by older code from one made by the code of today (:func:`outdated`).

A finished step has ``provenance.yaml`` (what made it: ``code_version``, ``packages``,
``git_commit``, ``config``, inputs, seed, wall time, engine fingerprint for an engine
step) and, written last, ``_done.json``. A step whose folder has the marker is not run
again, unless the run is fresh (:func:`fresh_steps`, ``fresh=true``); a step killed
before the marker is simply run again (its engine requests resume from the store).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from study.atomic import StagedOutputs
from study.code_version import code_version
from study.pipeline.provenance import git_commit, package_versions

log = logging.getLogger(__name__)

DONE_MARKER = "_done.json"
PROVENANCE = "provenance.yaml"

# While a fresh run is open: its start (seconds since the epoch); steps finished before
# it are run again, each once, however many analyses of the run use them.
_FRESH_SINCE: ContextVar[float | None] = ContextVar("fresh_since", default=None)


def digest(payload: Any) -> str:
    """A stable hash of JSON-able data (key order does not matter)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StepOutput:
    name: str
    key: str
    path: Path
    reused: bool

    def file(self, name: str) -> Path:
        return self.path / name


@contextmanager
def fresh_steps(enabled: bool = True) -> Iterator[None]:
    """Within the block, every step that finished before the block opened is computed
    again (``fresh=true``); a step finished inside it is reused, so a step that two
    analyses share runs once."""
    token = _FRESH_SINCE.set(time.time() if enabled else None)
    try:
        yield
    finally:
        _FRESH_SINCE.reset(token)


def step_identity(code: str, packages: Sequence[str]) -> dict[str, Any]:
    """The code version of ``code`` (``"module:function"``) and the versions of the
    distributions ``packages``, as they enter a step's key and its provenance."""
    return {
        "code": code,
        "code_version": code_version(code),
        "packages": package_versions(tuple(packages)),
    }


def run_step(
    root: Path,
    name: str,
    params: Mapping[str, Any],
    build: Callable[[StagedOutputs], Mapping[str, Any] | None],
    *,
    code: str,
    packages: Sequence[str] = (),
    inputs: Sequence[StepOutput] = (),
    seed: int | None = None,
) -> StepOutput:
    """Run ``build`` unless an identical step already finished under ``root``.

    ``code``: the step function, ``"module:function"``, whose code version keys the step;
    ``packages``: the distributions whose versions do. ``build`` writes its files through
    the StagedOutputs it is given and may return metadata (counts; ``engine``: the
    engine's fingerprint) recorded in the done marker and, for ``engine``, the provenance.
    ``seed``: recorded in the provenance; by default ``params["seed"]``.
    """
    identity = step_identity(code, packages)
    key = digest(
        {
            "name": name,
            "params": params,
            "inputs": [i.key for i in inputs],
            "code_version": identity["code_version"],
            "packages": identity["packages"],
        }
    )
    folder = root / "stages" / f"{name}-{key[:12]}"
    marker = folder / DONE_MARKER
    if marker.exists() and not _stale(marker):
        log.info("step %s: reusing %s", name, folder)
        return StepOutput(name, key, folder, reused=True)
    if marker.exists():
        _discard(folder)
    log.info("step %s: running into %s", name, folder)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    with StagedOutputs(folder) as staged:
        meta = dict(build(staged) or {})
        # Wall time of the step, for the per-stage split of bench/bench_reproduce.py.
        seconds = round(time.perf_counter() - clock, 3)
        record = {
            "name": name,
            "key": key,
            **identity,
            "git_commit": git_commit(),
            "config": dict(params),
            "inputs": {i.path.name: i.key for i in inputs},
            "seed": params.get("seed") if seed is None else seed,
            "started": started.isoformat(timespec="seconds"),
            "seconds": seconds,
            "python": platform.python_version(),
        }
        if "engine" in meta:
            record["engine"] = meta["engine"]
        plain = json.loads(json.dumps(record, default=str))
        staged.path(PROVENANCE).write_text(yaml.safe_dump(plain, sort_keys=False))
        done: dict[str, Any] = {
            "name": name,
            "key": key,
            "params": params,
            "inputs": [i.key for i in inputs],
        }
        done.update(meta)
        done.update(seconds=seconds, finished=time.time())
        staged.path(DONE_MARKER).write_text(json.dumps(done, indent=2, default=str))
    return StepOutput(name, key, folder, reused=False)


def _discard(folder: Path) -> None:
    """Move a finished step's folder out of the way (one rename, so no reader ever sees
    it half gone), then delete it: a fresh run computes the step from nothing."""
    trash = folder.with_name(f".discarded-{folder.name}-{secrets.token_hex(4)}")
    folder.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)


def _stale(marker: Path) -> bool:
    """Whether a fresh run must compute this finished step again."""
    since = _FRESH_SINCE.get()
    if since is None:
        return False
    try:
        finished = float(json.loads(marker.read_text()).get("finished", 0.0))
    except (OSError, ValueError):
        finished = 0.0
    return finished < since


def read_provenance(folder: Path) -> dict[str, Any] | None:
    """The provenance record of the step in ``folder``; None for a step made before
    steps kept one."""
    path = folder / PROVENANCE
    return yaml.safe_load(path.read_text()) if path.exists() else None


def outdated(record: Mapping[str, Any]) -> list[str]:
    """What differs between the code and packages that made a step (its provenance
    ``record``) and those installed now: ``code`` and/or the names of the packages."""
    code = record.get("code")
    if not code:
        return ["code"]  # made before steps recorded their code: of unknown age
    try:
        now = step_identity(str(code), list(record.get("packages") or {}))
    except ValueError:
        return ["code"]  # the step function is gone from today's code
    found = ["code"] if now["code_version"] != record.get("code_version") else []
    then = record.get("packages") or {}
    found += [name for name, version in now["packages"].items() if then.get(name) != version]
    return found
