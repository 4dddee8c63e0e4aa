"""C5's steps: every participant scored under none, own and the persona library; the
generated personas (study.fitted.generated) in ``generated-MODEL``: ``generated.csv``
(every text per person and round), ``generated_scores.parquet``, ``placebo.csv`` (each
person's donor), ``notes.json``; then
the held-out comparison (study.fitted.heldout) in ``fitted-MODEL``: ``conditions.csv``,
``candidates.csv``, ``benefit.csv``, ``diagnostics.csv``, ``posterior.nc``, ``c5.json``,
``notes.json``."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from study.config import Config
from study.engines.config import EngineConfig, ModelConfig
from study.fitted.config import check_generated, library
from study.fitted.heldout import CANDIDATE_PREFIX
from study.pipeline.respond_steps import (
    ENGINE_PACKAGES,
    FIT_PACKAGES,
    RESPOND_PACKAGES,
    engine_step_params,
)
from study.pipeline.steps import StepOutput, digest, run_step
from study.records import Participant


def candidate_config(cfg: Config) -> tuple[Config, list[str]]:
    """``cfg`` with the persona library added to the archetypes, and the conditions the
    respond step scores: none, own and every candidate."""
    candidates = library(cfg.fitted)
    clash = set(candidates) & set(cfg.persona_texts.archetypes)
    if clash:
        from study.errors import ConfigError

        raise ConfigError(f"fitted candidates {sorted(clash)} clash with archetype names")
    texts = replace(cfg.persona_texts, archetypes={**cfg.persona_texts.archetypes, **candidates})
    personas = ["none", "own", *(CANDIDATE_PREFIX + name for name in candidates)]
    return replace(cfg, persona_texts=texts), personas


def generated_people(cfg: Config, people: list[Participant]) -> list[Participant]:
    """The sessions of the persons who get a generated persona: the first
    ``fitted.generated.persons`` of each experiment, or everybody."""
    from study.pipeline.analyses import first_per_experiment

    limit = cfg.fitted.generated.persons
    return people if limit is None else first_per_experiment(people, limit)


def generated_step(
    cfg: Config,
    root: Path,
    data: StepOutput,
    people: list[Participant],
    *,
    engine: EngineConfig,
    model: ModelConfig,
) -> StepOutput:
    """The PersonaAgent loop for one model (study.fitted.generated); its requests go
    through the shared store ``ROOT/responses/``, so a killed step resumes."""
    from study.engines.registry import build_engine
    from study.fitted.generated import generate_personas
    from study.fitted.heldout import first_k
    from study.store import ResponseStore

    check_generated(cfg.fitted.generated)  # before an engine loads
    chosen = generated_people(cfg, people)
    params = {
        **engine_step_params(cfg, chosen, engine, model),
        "template": cfg.fitted.template,
        "dimensions": cfg.fitted.dimensions,
        "split": cfg.fitted.split,
        "generated": asdict(cfg.fitted.generated),
    }

    def build(staged) -> dict[str, Any]:
        built = build_engine(engine, model)
        try:
            with ResponseStore(root / "responses") as store:
                outcome = generate_personas(
                    built,
                    store,
                    chosen,
                    first_k(chosen, cfg.fitted.split),
                    cfg.fitted,
                    cfg.preamble,
                    seed=cfg.seed,
                    fresh=cfg.fresh,
                )
            fingerprint = dict(built.fingerprint())
        finally:
            built.close()
        outcome.rows.write_csv(staged.path("generated.csv"))
        outcome.scores.write_parquet(staged.path("generated_scores.parquet"))
        outcome.placebo.write_csv(staged.path("placebo.csv"))
        staged.path("notes.json").write_text(json.dumps(outcome.notes, indent=2) + "\n")
        return {"computed": outcome.computed, "reused": outcome.reused, "engine": fingerprint}

    return run_step(
        root,
        f"generated-{model.name}",
        params,
        build,
        code="study.pipeline.fitted_steps:generated_step",
        packages=(*RESPOND_PACKAGES, *ENGINE_PACKAGES.get(engine.name, ())),
        inputs=[data],
    )


def fitted_step(
    cfg: Config,
    root: Path,
    respond: StepOutput,
    people: list[Participant],
    label: str,
    generated: StepOutput | None = None,
) -> StepOutput:
    """The held-out comparison of C5 on one model's scores (and its generated
    personas' scores, when ``generated`` is given)."""
    from study.fitted.heldout import fitted_heldout
    from study.variance.individuation import individuation

    settings: dict[str, Any] = {
        "draws": cfg.pipeline.draws,
        "tune": cfg.pipeline.tune,
        "chains": cfg.pipeline.chains,
        "seed": cfg.seed,
        # A single experiment leaves the spread between experiments to its prior (the
        # usual case for `data.path=`), whose funnel may need the smallest steps.
        "retries": 2,
    }
    params = {
        **settings,
        "rope": cfg.pipeline.rope,
        "fitted": asdict(cfg.fitted),
        "cognitive": asdict(cfg.cognitive),
        "participants": digest([[p.experiment, p.participant, p.session] for p in people]),
    }

    def build(staged) -> dict[str, Any]:
        scores = pl.read_parquet(respond.path / "respond" / "scores.parquet")
        extra = None
        if generated is not None:
            extra = pl.read_parquet(generated.path / "generated_scores.parquet")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed gate is recorded, not printed here
            result = fitted_heldout(
                scores,
                people,
                list(library(cfg.fitted)),
                split=cfg.fitted.split,
                cognitive=cfg.cognitive,
                seed=cfg.seed,
                rope=cfg.pipeline.rope,
                fit=partial(individuation, **settings),
                generated=extra,
            )
        result.save(staged.path)
        return {"passed": result.passed, "notes": result.notes}

    return run_step(
        root,
        f"fitted-{label}",
        params,
        build,
        code="study.pipeline.fitted_steps:fitted_step",
        packages=FIT_PACKAGES,
        inputs=[respond] if generated is None else [respond, generated],
    )
