"""Engine results as tidy tables, one row per choice point, with provenance columns.

Rows come in job order (participants as read, personas as configured, runs, choice
points), and no column holds a time stamp, so the same config and seed give the same
bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from study import __version__
from study.engines.base import SampleResult, ScoreResult
from study.respond.plan import Job

OPTION_PROBS = pl.List(pl.Struct({"option": pl.String, "prob": pl.Float64}))


def _provenance(fingerprint: Mapping[str, str], key: str) -> dict[str, str]:
    return {
        "engine": fingerprint.get("engine", ""),
        "engine_version": fingerprint.get("engine_version", ""),
        "model": fingerprint.get("model", ""),
        "model_sha256": fingerprint.get("model_sha256", ""),
        "engine_settings": json.dumps(dict(sorted(fingerprint.items())), separators=(",", ":")),
        "request_key": key,
        "study_version": __version__,
    }


def _who(job: Job) -> dict[str, str]:
    r = job.rendered
    return {
        "experiment": r.experiment,
        "participant": r.participant,
        "persona": r.persona,
        "persona_source": r.persona_source,
    }


SCORE_SCHEMA: dict[str, Any] = {
    "experiment": pl.String,
    "participant": pl.String,
    "persona": pl.String,
    "persona_source": pl.String,
    "choice": pl.Int32,
    "response": pl.String,
    "nll": pl.Float64,
    "n_tokens": pl.Int32,
    "option_probs": OPTION_PROBS,
    "dropped_tokens": pl.Int32,
    "prompt_tokens": pl.Int32,
}
SAMPLE_SCHEMA: dict[str, Any] = {
    "experiment": pl.String,
    "participant": pl.String,
    "persona": pl.String,
    "persona_source": pl.String,
    "run": pl.Int32,
    "seed": pl.Int64,
    "choice": pl.Int32,
    "response": pl.String,
    "sampled": pl.String,
    "match": pl.Boolean,
}
PROVENANCE_SCHEMA: dict[str, Any] = dict.fromkeys(
    [
        "engine",
        "engine_version",
        "model",
        "model_sha256",
        "engine_settings",
        "request_key",
        "study_version",
    ],
    pl.String,
)


def score_frame(
    jobs: Sequence[Job], results: Mapping[str, ScoreResult], fingerprint: Mapping[str, str]
) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for job in jobs:
        result = results[job.key]
        base = _who(job) | _provenance(fingerprint, job.key)
        for choice, response in enumerate(job.rendered.responses):
            probs = None
            if result.option_probs is not None:
                probs = [{"option": o, "prob": p} for o, p in result.option_probs[choice].items()]
            rows.append(
                base
                | {
                    "choice": choice,
                    "response": response,
                    "nll": result.nll[choice],
                    "n_tokens": result.n_tokens[choice],
                    "option_probs": probs,
                    "dropped_tokens": result.dropped_tokens[choice] if result.dropped_tokens else 0,
                    "prompt_tokens": result.prompt_tokens,
                }
            )
    return pl.DataFrame(rows, schema=SCORE_SCHEMA | PROVENANCE_SCHEMA)


def sample_frame(
    jobs: Sequence[Job], results: Mapping[str, SampleResult], fingerprint: Mapping[str, str]
) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for job in jobs:
        result = results[job.key]
        base = _who(job) | _provenance(fingerprint, job.key) | {"run": job.run, "seed": job.seed}
        for choice, (response, sampled) in enumerate(
            zip(job.rendered.responses, result.responses, strict=True)
        ):
            rows.append(
                base
                | {
                    "choice": choice,
                    "response": response,
                    "sampled": sampled,
                    "match": sampled == response,
                }
            )
    return pl.DataFrame(rows, schema=SAMPLE_SCHEMA | PROVENANCE_SCHEMA)
