"""Requests computed through the response store by a loop that builds them round by
round (C5's generated personas, C7's extraction and debate): what the store lacks is
computed, everything is read back, and the counts say how much was new."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from study.engines.base import Engine, SampleResult, ScoreResult
from study.respond.plan import Job
from study.store import ResponseStore


class RequestRunner:
    """The engine and store of one loop, counting what it computed."""

    def __init__(self, engine: Engine, store: ResponseStore, fresh: bool) -> None:
        self.engine, self.store, self.fresh = engine, store, fresh
        self.fingerprint = dict(engine.fingerprint())
        self.computed = self.total = 0

    def run(self, jobs: Sequence[Job[Any]], mode: str) -> dict[str, ScoreResult | SampleResult]:
        """Compute ``jobs`` (all of ``mode``, "score" or "sample") the store lacks, each
        committed as it arrives; return every job's result by key."""
        from study.respond.stage import compute_jobs  # the respond stage's own loop

        unique = list({job.key: job for job in jobs}.values())
        scores = unique if mode == "score" else []
        samples = unique if mode == "sample" else []
        self.computed += compute_jobs(
            self.engine, self.store, scores, samples, self.fingerprint, self.fresh, 0, False
        )
        self.total += len(unique)
        return self.store.get_many(job.key for job in unique)
