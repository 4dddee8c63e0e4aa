"""C4's engine requests: every hosted prompt scored once, the sampled-hosting prompts
sampled ``runs`` times; results as one row per scored (or sampled) span.

Requests go through the response store like every other (study.respond.stage), keyed by
their content, so a killed run resumes and a rerun computes nothing. A prompt holds the
spans of one person or, interleaved, of two; each row names the span's owner, so the
estimators (study.hosting.estimates) join designs on (experiment, participant, session,
choice).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from study.engines.base import Engine, SampleRequest, SampleResult, ScoreRequest, ScoreResult
from study.engines.seeds import run_seed
from study.hosting.config import HostingConfig
from study.hosting.records import ALONE, COHOSTED, HostedPrompt
from study.respond.config import SamplingConfig
from study.respond.plan import Job, model_identity
from study.store import ResponseStore, request_key

OptionsOf = Callable[[str, str], tuple[str, ...] | None]


@dataclass(frozen=True)
class HostingResponses:
    scores: pl.DataFrame
    samples: pl.DataFrame
    computed: int
    reused: int


def sampled(prompt: HostedPrompt, cfg: HostingConfig) -> bool:
    """Whether the sampled-hosting design samples ``prompt``: the slots of
    ``hosting.sample_personas`` alone, and co-hosted with K = ``hosting.sampled_k`` under
    the first partner rule and position configured."""
    if prompt.slot not in cfg.sample_personas:
        return False
    if prompt.design == ALONE:
        return True
    return (
        prompt.design == COHOSTED
        and prompt.k == cfg.sampled_k
        and prompt.partners == cfg.partners[0]
        and prompt.position == cfg.positions[0]
    )


def request_options(
    prompt: HostedPrompt, options_of: OptionsOf
) -> tuple[tuple[str, ...], ...] | None:
    """Per span, its owner's option set; None when any owner has none (free text)."""
    per_span = [options_of(prompt.experiment, owner) for owner in prompt.owners]
    if any(options is None for options in per_span):
        return None
    return tuple(options for options in per_span if options is not None)


def plan_hosting(
    prompts: Sequence[HostedPrompt],
    options_of: OptionsOf,
    fingerprint: Mapping[str, str],
    cfg: HostingConfig,
    *,
    runs: int,
    sampling: SamplingConfig,
    seed: int,
) -> tuple[list[Job[HostedPrompt]], list[Job[HostedPrompt]]]:
    """One score job per prompt; ``runs`` sample jobs per sampled prompt, each run seeded
    from (model, person, session, prompt name, run, config seed) as STUDY.md's runs are."""
    model = model_identity(fingerprint)
    scores: list[Job[HostedPrompt]] = []
    samples: list[Job[HostedPrompt]] = []
    for prompt in prompts:
        options = request_options(prompt, options_of)
        score = ScoreRequest(prompt.prompt, prompt.spans, options=options, tags=prompt.tags())
        scores.append(Job(prompt, "score", score, request_key(fingerprint, "score", score)))
        if not sampled(prompt, cfg):
            continue
        for run in range(runs):
            run_seed_ = run_seed(
                model,
                prompt.experiment,
                prompt.target,
                prompt.name,
                run,
                config_seed=seed,
                session=prompt.session,
            )
            sample = SampleRequest(
                prompt.prompt,
                prompt.spans,
                seed=run_seed_,
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                options=options,
                tags=prompt.tags(),
            )
            key = request_key(fingerprint, "sample", sample)
            samples.append(Job(prompt, "sample", sample, key, run=run, seed=run_seed_))
    return scores, samples


def respond_hosting(
    engine: Engine,
    prompts: Sequence[HostedPrompt],
    options_of: OptionsOf,
    cfg: HostingConfig,
    *,
    store: Path,
    runs: int,
    sampling: SamplingConfig,
    seed: int,
    fresh: bool = False,
    progress: bool = True,
) -> HostingResponses:
    """Score (and sample) ``prompts`` through the store at ``store``."""
    from study.respond.stage import compute_jobs

    fingerprint = dict(engine.fingerprint())
    score_jobs, sample_jobs = plan_hosting(
        prompts, options_of, fingerprint, cfg, runs=runs, sampling=sampling, seed=seed
    )
    persons = len({(p.experiment, p.target, p.session) for p in prompts})
    with ResponseStore(store) as responses:
        computed = compute_jobs(
            engine, responses, score_jobs, sample_jobs, fingerprint, fresh, persons, progress
        )
        results = responses.get_many(job.key for job in [*score_jobs, *sample_jobs])
    scores = score_rows(score_jobs, results)
    samples = sample_rows(sample_jobs, results)
    total = len(score_jobs) + len(sample_jobs)
    return HostingResponses(scores, samples, computed, total - computed)


def _prompt_columns(prompt: HostedPrompt, span: int) -> dict[str, Any]:
    return {
        "design": prompt.design,
        "experiment": prompt.experiment,
        "participant": prompt.owners[span],
        "session": prompt.session,
        "choice": prompt.choices[span],
        "target": prompt.target,
        "slot": prompt.slot,
        "name": prompt.name,
        "k": prompt.k,
        "target_slot": prompt.target_slot,
        "position": prompt.position,
        "partners": prompt.partners,
        "slots": ",".join(prompt.slots),
        "swap": prompt.swap,
        "probed": span == prompt.probed,
        "response": prompt.responses[span],
    }


def _log(probability: float) -> float:
    # A probability that underflowed to 0 stays finite (about -745, the float limit).
    return math.log(max(probability, 5e-324))


def score_rows(jobs: Sequence[Job[HostedPrompt]], results: Mapping[str, Any]) -> pl.DataFrame:
    """One row per scored span: the prompt's columns, the span's NLL and, with an option
    set, the options and their normalised log-probabilities in the option set's order."""
    rows = []
    for job in jobs:
        result = results[job.key]
        assert isinstance(result, ScoreResult) and isinstance(job.request, ScoreRequest)
        options = job.request.options
        for span in range(len(job.rendered.spans)):
            probs = None if result.option_probs is None else result.option_probs[span]
            rows.append(
                {
                    **_prompt_columns(job.rendered, span),
                    "nll": result.nll[span],
                    "n_tokens": result.n_tokens[span],
                    "options": None if options is None else list(options[span]),
                    "logprobs": None
                    if probs is None or options is None
                    else [_log(probs[o]) for o in options[span]],
                    "tokens_evaluated": result.tokens_evaluated,
                    "prompt_tokens": result.prompt_tokens,
                    "request_key": job.key,
                }
            )
    return pl.DataFrame(rows, schema=SCORE_SCHEMA)


def sample_rows(jobs: Sequence[Job[HostedPrompt]], results: Mapping[str, Any]) -> pl.DataFrame:
    """One row per sampled span and run: the sample, and whether it equals the human's."""
    rows = []
    for job in jobs:
        result = results[job.key]
        assert isinstance(result, SampleResult)
        for span, sample in enumerate(result.responses):
            columns = _prompt_columns(job.rendered, span)
            rows.append(
                {
                    **columns,
                    "run": job.run,
                    "seed": job.seed,
                    "sample": sample,
                    "match": sample.strip() == columns["response"].strip(),
                    "request_key": job.key,
                }
            )
    return pl.DataFrame(rows, schema=SAMPLE_SCHEMA)


_PROMPT_SCHEMA: dict[str, Any] = {
    "design": pl.String,
    "experiment": pl.String,
    "participant": pl.String,
    "session": pl.Int64,
    "choice": pl.Int64,
    "target": pl.String,
    "slot": pl.String,
    "name": pl.String,
    "k": pl.Int64,
    "target_slot": pl.Int64,
    "position": pl.String,
    "partners": pl.String,
    "slots": pl.String,
    "swap": pl.String,
    "probed": pl.Boolean,
    "response": pl.String,
}
SCORE_SCHEMA: dict[str, Any] = {
    **_PROMPT_SCHEMA,
    "nll": pl.Float64,
    "n_tokens": pl.Int64,
    "options": pl.List(pl.String),
    "logprobs": pl.List(pl.Float64),
    "tokens_evaluated": pl.Int64,
    "prompt_tokens": pl.Int64,
    "request_key": pl.String,
}
SAMPLE_SCHEMA: dict[str, Any] = {
    **_PROMPT_SCHEMA,
    "run": pl.Int64,
    "seed": pl.Int64,
    "sample": pl.String,
    "match": pl.Boolean,
    "request_key": pl.String,
}
