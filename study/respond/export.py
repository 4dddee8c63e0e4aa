"""Engine results as tidy tables, one row per choice point, with provenance columns.

Rows come in job order (participants as read, personas as configured, runs, choice
points), and no column holds a time stamp, so the same config and seed give the same
bytes. ``session`` numbers a participant's transcripts (0 for the first);
``prompt_text_sha256`` is the sha256 (hex) of the rendered prompt's text as the engine
received it, so a reader can check which preamble a row was scored under.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from study import __version__
from study.engines.base import SampleResult, ScoreResult
from study.personas import RenderedPrompt
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


def _who(job: Job[RenderedPrompt]) -> dict[str, str | int]:
    r = job.rendered
    return {
        "experiment": r.experiment,
        "participant": r.participant,
        "session": r.session,
        "persona": r.persona,
        "persona_source": r.persona_source,
        "prompt_text_sha256": prompt_sha256(r.prompt),
    }


def prompt_sha256(prompt: str) -> str:
    """The hex sha256 of a prompt's UTF-8 text.

    >>> prompt_sha256("")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


SCORE_SCHEMA: dict[str, Any] = {
    "experiment": pl.String,
    "participant": pl.String,
    "session": pl.Int32,
    "persona": pl.String,
    "persona_source": pl.String,
    "prompt_text_sha256": pl.String,
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
    "session": pl.Int32,
    "persona": pl.String,
    "persona_source": pl.String,
    "prompt_text_sha256": pl.String,
    "run": pl.Int32,
    "seed": pl.Int64,
    "choice": pl.Int32,
    "response": pl.String,
    "sampled": pl.String,
    "match": pl.Boolean,
    # "free" (generated), "match" (generated until the match was decided) or "options"
    # (drawn from the score pass's option probabilities).
    "sampling_mode": pl.String,
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
    jobs: Sequence[Job[RenderedPrompt]],
    results: Mapping[str, ScoreResult],
    fingerprint: Mapping[str, str],
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
    jobs: Sequence[Job[RenderedPrompt]],
    results: Mapping[str, SampleResult],
    fingerprint: Mapping[str, str],
    mode: str = "free",
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
                    "sampling_mode": mode,
                }
            )
    return pl.DataFrame(rows, schema=SAMPLE_SCHEMA | PROVENANCE_SCHEMA)
