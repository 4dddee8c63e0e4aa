"""Pipeline steps whose outputs are keyed by what made them.

A step's folder is ``ROOT/stages/NAME-DIGEST`` where the digest hashes the step's
parameters and the digests of the steps it reads. A finished step has a ``_done.json``
(written last); a step whose folder has one is not run again, and a step killed before
writing it is simply run again (its engine requests are resumed from the store).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.atomic import StagedOutputs

log = logging.getLogger(__name__)

DONE_MARKER = "_done.json"


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


def run_step(
    root: Path,
    name: str,
    params: Mapping[str, Any],
    build: Callable[[StagedOutputs], Mapping[str, Any] | None],
    *,
    inputs: Sequence[StepOutput] = (),
) -> StepOutput:
    """Run ``build`` unless an identical step already finished under ``root``.

    ``build`` writes its files through the StagedOutputs it is given and may return
    extra metadata (engine fingerprints, counts) recorded in the done marker.
    """
    key = digest({"name": name, "params": params, "inputs": [i.key for i in inputs]})
    folder = root / "stages" / f"{name}-{key[:12]}"
    if (folder / DONE_MARKER).exists():
        log.info("step %s: reusing %s", name, folder)
        return StepOutput(name, key, folder, reused=True)
    log.info("step %s: running into %s", name, folder)
    started = time.perf_counter()
    with StagedOutputs(folder) as staged:
        meta = build(staged) or {}
        marker: dict[str, Any] = {
            "name": name,
            "key": key,
            "params": params,
            "inputs": [i.key for i in inputs],
        }
        marker.update(meta)
        # Wall time of the step, for the per-stage split of bench/bench_reproduce.py.
        marker["seconds"] = round(time.perf_counter() - started, 3)
        staged.path(DONE_MARKER).write_text(json.dumps(marker, indent=2, default=str))
    return StepOutput(name, key, folder, reused=False)
