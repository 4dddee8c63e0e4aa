"""C4's steps: the hosted prompts answered by one model, then the estimators.

``hosting-respond-MODEL`` writes ``scores.parquet`` and ``samples.parquet`` (one row per
span, study.hosting.respond); ``hosting-fit-MODEL`` writes ``estimates.csv`` (one row per
statistic and experiment, study.hosting.estimates), ``diagnostics.csv``, one posterior
per model fitted, ``counts.json`` (what the estimates rest on) and ``notes.json``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from study.config import Config
from study.engines.config import EngineConfig, ModelConfig
from study.hosting.records import HostedPrompt
from study.pipeline.respond_steps import (
    ENGINE_PACKAGES,
    FIT_PACKAGES,
    RESPOND_PACKAGES,
    engine_fingerprint,
    engine_step_params,
)
from study.pipeline.steps import StepOutput, run_step
from study.records import Participant


def hosted_prompts_of(cfg: Config, people: list[Participant]) -> list[HostedPrompt]:
    """Every prompt of C4's designs for ``people`` (study.hosting.prompts)."""
    from study.data import options_for
    from study.hosting.prompts import hosted_prompts

    return hosted_prompts(people, cfg.hosting, cfg.preamble, seed=cfg.seed, options=options_for)


def options_lookup(people: list[Participant]):
    """(experiment, participant) -> the option set of that person's first session."""
    from study.data import options_for

    first: dict[tuple[str, str], tuple[str, ...] | None] = {}
    for person in sorted(people, key=lambda p: p.session, reverse=True):
        first[person.person] = options_for(person)
    return lambda experiment, participant: first[(experiment, participant)]


def hosting_respond_step(
    cfg: Config,
    root: Path,
    data: StepOutput,
    people: list[Participant],
    *,
    engine: EngineConfig,
    model: ModelConfig,
) -> StepOutput:
    """C4's prompts of ``people`` scored (and the sampled-hosting ones sampled) by
    ``model``, through the shared store ``ROOT/responses/``."""
    from study.engines.registry import build_engine
    from study.hosting.respond import respond_hosting

    params = {
        **engine_step_params(cfg, people, engine, model),
        "hosting": asdict(cfg.hosting),
        "runs": cfg.runs,
    }

    def build(staged) -> dict[str, Any]:
        prompts = hosted_prompts_of(cfg, people)
        running = build_engine(engine, model)
        try:
            outcome = respond_hosting(
                running,
                prompts,
                options_lookup(people),
                cfg.hosting,
                store=root / "responses",
                runs=cfg.runs,
                sampling=cfg.sampling,
                seed=cfg.seed,
            )
        finally:
            running.close()
        outcome.scores.write_parquet(staged.path("scores.parquet"))
        outcome.samples.write_parquet(staged.path("samples.parquet"))
        return {
            "computed": outcome.computed,
            "reused": outcome.reused,
            "engine": engine_fingerprint(outcome.scores),
        }

    return run_step(
        root,
        f"hosting-respond-{model.name}",
        params,
        build,
        code="study.pipeline.hosting_steps:hosting_respond_step",
        packages=(*RESPOND_PACKAGES, *ENGINE_PACKAGES.get(engine.name, ())),
        inputs=[data],
    )


def hosting_fit_step(cfg: Config, root: Path, respond: StepOutput, label: str) -> StepOutput:
    """The estimators of C4 on one model's hosting responses (study.hosting.estimates)."""
    from study.hosting.config import FitSettings
    from study.hosting.estimates import estimate_hosting

    settings = FitSettings(
        draws=cfg.pipeline.draws,
        tune=cfg.pipeline.tune,
        chains=cfg.pipeline.chains,
        seed=cfg.seed,
        rope=cfg.pipeline.rope,
        crosstalk_holds=cfg.hosting.crosstalk_holds,
        blend=cfg.hosting.blend,
    )

    def build(staged) -> dict[str, Any]:
        scores = pl.read_parquet(respond.path / "scores.parquet")
        samples = pl.read_parquet(respond.path / "samples.parquet")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed gate is recorded, not printed here
            result = estimate_hosting(scores, samples, settings)
        result.save(staged.path)
        return {"passed": result.passed, "notes": result.notes}

    return run_step(
        root,
        f"hosting-fit-{label}",
        asdict(settings),
        build,
        code="study.pipeline.hosting_steps:hosting_fit_step",
        packages=FIT_PACKAGES,
        inputs=[respond],
    )
