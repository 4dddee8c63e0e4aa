"""The respond stage: score and sample every participant under every persona condition.

``python -m study stage=respond engine=llamacpp model=gemma3_270m data.path=PATH
personas=[none,own,other] runs=R out=DIR`` writes ``DIR/scores.parquet`` and
``DIR/samples.parquet``. Every request goes through the response store
(``store=``, by default the folder ``DIR/responses``): a result already there is reused, a
new one is committed as soon as it is computed, so a killed run restarted with the same
command resumes where it stopped. ``fresh=true`` recomputes everything; ``dry_run=true``
shows the rendered prompts, their token counts and how many requests are cached, and
computes nothing. ``sampling.mode=options`` draws the runs from the score pass's option
probabilities instead of generating them (study.respond.option_samples).

From Python (the pipeline): :func:`respond` takes the config and, optionally, the
participants (synthetic ones, say) and an engine already built.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from study.atomic import StagedOutputs
from study.engines.base import Engine, SampleResult, ScoreResult
from study.engines.registry import build_engine
from study.errors import ConfigError, StudyInputError
from study.personas import parse_condition, render_all
from study.records import Participant
from study.respond.dryrun import describe_plan
from study.respond.export import sample_frame, score_frame
from study.respond.option_samples import (
    GENERATED,
    check_mode,
    check_single_token_options,
    option_samples,
)
from study.respond.plan import Job, plan_jobs
from study.respond.progress import Progress
from study.store import ResponseStore


@dataclass
class RespondOutcome:
    scores: pl.DataFrame
    samples: pl.DataFrame
    # Files written (none for a dry run).
    paths: dict[str, Path] = field(default_factory=dict)
    computed: int = 0
    reused: int = 0


def _load_participants(cfg: Any) -> list[Participant]:
    from study.data import iter_participants

    return list(iter_participants(cfg.data.path, limit=cfg.data.limit))


def _options_lookup(participants: Sequence[Participant]):
    from study.data import options_for

    by_key = {p.key: options_for(p) for p in participants}
    return lambda rendered: by_key[(rendered.experiment, rendered.participant, rendered.session)]


def _conditions(cfg: Any):
    conditions = [parse_condition(text, cfg.persona_texts) for text in cfg.personas]
    labels = [c.label for c in conditions]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"personas lists a condition twice: {labels}")
    if not conditions:
        raise ConfigError("personas is empty; name at least one condition")
    return conditions


def respond(
    cfg: Any,
    participants: Sequence[Participant] | None = None,
    *,
    engine: Engine | None = None,
    progress: bool = True,
) -> RespondOutcome:
    """Run the stage for ``cfg`` (a :class:`study.config.Config`); see the module doc."""
    conditions = _conditions(cfg)
    people = list(participants) if participants is not None else _load_participants(cfg)
    if not people:
        raise StudyInputError("no participants to respond for", file=str(cfg.data.path))
    own_engine = engine is None
    engine = engine or build_engine(cfg.engine, cfg.model)
    try:
        prompts = render_all(
            people,
            conditions,
            cfg.persona_texts,
            cfg.preamble,
            seed=cfg.seed,
            chat=engine.chat_prompt,
        )
        fingerprint = dict(engine.fingerprint())
        options = _options_lookup(people)
        mode = cfg.sampling.mode
        check_mode(mode)
        if mode == "options" and cfg.runs > 0:
            check_single_token_options(prompts, options, engine)
        score_jobs, sample_jobs = plan_jobs(
            prompts, options, fingerprint, cfg.runs, cfg.sampling, seed=cfg.seed
        )
        # In options mode the runs are drawn from the score pass, not asked of the engine.
        engine_samples = sample_jobs if mode in GENERATED else []
        if cfg.dry_run:
            print(
                describe_plan(prompts, score_jobs, sample_jobs, Path(cfg.store), engine, cfg.fresh)
            )
            return RespondOutcome(pl.DataFrame(), pl.DataFrame())
        with ResponseStore(Path(cfg.store)) as store:
            computed = compute_jobs(
                engine,
                store,
                score_jobs,
                engine_samples,
                fingerprint,
                cfg.fresh,
                len(people),
                progress,
            )
            results = store.get_many(job.key for job in [*score_jobs, *engine_samples])
        score_results = _only(results, ScoreResult)
        sample_results = (
            _only(results, SampleResult)
            if mode in GENERATED
            else option_samples(sample_jobs, score_jobs, score_results)
        )
        scores = score_frame(score_jobs, score_results, fingerprint)
        samples = sample_frame(sample_jobs, sample_results, fingerprint, mode)
        paths = {}
        with StagedOutputs(cfg.out) as staged:
            for name, frame in (("scores", scores), ("samples", samples)):
                frame.write_parquet(staged.path(f"{name}.parquet"))
                paths[name] = Path(cfg.out) / f"{name}.parquet"
        total = len(score_jobs) + len(engine_samples)
        return RespondOutcome(scores, samples, paths, computed, total - computed)
    finally:
        if own_engine:
            engine.close()


def _only(results: dict, kind: type) -> dict:
    return {key: value for key, value in results.items() if isinstance(value, kind)}


def compute_jobs(
    engine: Engine,
    store: ResponseStore,
    score_jobs: Sequence[Job[Any]],
    sample_jobs: Sequence[Job[Any]],
    fingerprint: dict[str, str],
    fresh: bool,
    n_participants: int,
    show_progress: bool,
) -> int:
    """Compute the jobs the store lacks (all of them when ``fresh``); commit each result
    as it arrives. Returns how many were computed."""
    every = [*score_jobs, *sample_jobs]
    cached = set() if fresh else store.contains(job.key for job in every)
    todo_scores = [job for job in score_jobs if job.key not in cached]
    todo_samples = [job for job in sample_jobs if job.key not in cached]
    # Progress counts transcripts (a person's sessions are counted one by one), as
    # ``n_participants`` does.
    number: dict[tuple[str, str, int], int] = {}
    for job in every:
        number.setdefault(_transcript(job), len(number) + 1)
    bar = Progress(len(todo_scores) + len(todo_samples), n_participants, enabled=show_progress)

    def commit(job: Job[Any], result: ScoreResult | SampleResult) -> None:
        provenance = {"fingerprint": fingerprint, "tags": dict(job.request.tags)}
        store.put(job.key, job.mode, result, provenance, replace=fresh)
        bar.advance(result.tokens_evaluated, number[_transcript(job)], job.mode)

    try:
        scored = engine.score([job.request for job in todo_scores])  # type: ignore[misc]
        for job, result in zip(todo_scores, scored, strict=True):
            commit(job, result)
        sampled = engine.sample([job.request for job in todo_samples])  # type: ignore[misc]
        for job, sample in zip(todo_samples, sampled, strict=True):
            commit(job, sample)
    finally:
        bar.close()
    return len(todo_scores) + len(todo_samples)


def _transcript(job: Job[Any]) -> tuple[str, str, int]:
    rendered = job.rendered
    return (rendered.experiment, rendered.participant, rendered.session)


def run(cfg: Any) -> None:
    """The command-line entry (``stage=respond``)."""
    outcome = respond(cfg)
    if cfg.dry_run:
        return
    print(
        f"wrote {outcome.paths['scores']} ({outcome.scores.height} rows) and "
        f"{outcome.paths['samples']} ({outcome.samples.height} rows); "
        f"computed {outcome.computed} requests, reused {outcome.reused} from {cfg.store}",
        file=sys.stderr,
    )
