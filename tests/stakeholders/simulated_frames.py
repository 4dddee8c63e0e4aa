"""Judgements frames (study.stakeholders.stats) from the simulated engine's C7 truth."""

from __future__ import annotations

import math

import polars as pl

from study.engines.base import ScoreRequest
from study.engines.config import ModelConfig, SimulatedEngineConfig
from study.engines.simulated import SimulatedEngine, build

OPTIONS = ("A", "B", "C")
HUMAN = "B"


def engine(**truth: float) -> SimulatedEngine:
    """The simulated engine with the given judging truth, validated as `build` does."""
    return build(SimulatedEngineConfig(**truth), ModelConfig())  # type: ignore[arg-type]


def personas(n_documents: int, n_generic: int) -> list[tuple[str, str]]:
    """(source, persona id) pairs: the panel's personas and the lone `none` judge."""
    return [
        *((("documents", f"documents:D{i}")) for i in range(n_documents)),
        *((("generic", f"generic:G{i}")) for i in range(n_generic)),
        ("none", "none"),
    ]


def judge_request(item: str, source: str, persona: str, round_: int) -> ScoreRequest:
    """A judging request as the pipeline would send it: the human's response is the
    one scored span, over the item's options."""
    experiment, participant, _, _ = item.split("/")
    prompt = f"How likely is this response? <<{HUMAN}>>"
    start = prompt.index("<<") + 2
    return ScoreRequest(
        prompt,
        ((start, start + len(HUMAN)),),
        options=(OPTIONS,),
        tags=(
            ("judge", "1"),
            ("experiment", experiment),
            ("participant", participant),
            ("item", item),
            ("source", source),
            ("persona", persona),
            ("round", str(round_)),
        ),
    )


def judgements(
    simulated: SimulatedEngine,
    *,
    experiments: tuple[str, ...] = ("e1",),
    persons: int = 10,
    choices: int = 4,
    n_documents: int = 3,
    n_generic: int = 3,
    rounds: int = 1,
    model: str = "simulated",
) -> pl.DataFrame:
    """One row per (persona, item, round): the panel's personas judge rounds 0..rounds,
    `none` round 0 only; p_human from the engine's truth."""
    rows = []
    for experiment in experiments:
        for person in range(persons):
            for choice in range(choices):
                item = f"{experiment}/{person}/0/{choice}"
                for source, persona in personas(n_documents, n_generic):
                    for round_ in range(rounds + 1 if source != "none" else 1):
                        eta = simulated.judge_effects(item, source, persona, round_).logit
                        p = 1.0 / (1.0 + math.exp(-eta))
                        clipped = min(max(p, 1e-6), 1 - 1e-6)
                        rows.append(
                            {
                                "model": model,
                                "experiment": experiment,
                                "participant": str(person),
                                "session": 0,
                                "choice": choice,
                                "item": item,
                                "source": source,
                                "persona": persona,
                                "round": round_,
                                "human": HUMAN,
                                "n_options": len(OPTIONS),
                                "p_human": p,
                                "logp": math.log(p),
                                "logodds": math.log(clipped) - math.log(1 - clipped),
                            }
                        )
    return pl.DataFrame(rows)
