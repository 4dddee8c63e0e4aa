"""C5's steps: every participant scored under none, own and the persona library, then
the held-out comparison (study.fitted.heldout) in ``fitted-MODEL``: ``conditions.csv``,
``candidates.csv``, ``benefit.csv``, ``diagnostics.csv``, ``posterior.nc``, ``c5.json``,
``notes.json``."""

from __future__ import annotations

import warnings
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from study.config import Config
from study.fitted.config import library
from study.fitted.heldout import CANDIDATE_PREFIX
from study.pipeline.respond_steps import FIT_PACKAGES
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


def fitted_step(
    cfg: Config, root: Path, respond: StepOutput, people: list[Participant], label: str
) -> StepOutput:
    """The held-out comparison of C5 on one model's scores."""
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
        inputs=[respond],
    )
