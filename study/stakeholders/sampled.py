"""Sampled judgements: the run factor of C7's decomposition.

A judgement is an option distribution (score mode); a judge asked again would answer by
drawing from it. Each of ``stakeholders.runs`` runs draws, per (judge, item, round), an
option with its own random stream (the run seed of STUDY.md, over the model, the person,
the judge, the round and the choice point), and records whether it is the human's. That
needs no engine call: the draw is exact for the judge's distribution (as
``sampling.mode=options`` is for C1). V1 on those matches, binomial counts per (item,
judge, round) cell, splits them into item, persona, persona x item and run: the share a
judge's own sampling noise takes, beside its persona's (STUDY.md's C1 question asked of
judges).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from study.engines.seeds import run_seed
from study.stakeholders.stats import share_rows

FORMULA = "matches | trials(runs) ~ 1 + (1|item) + (1|persona) + (1|persona:item)"
FIT = "sampled judgements (binomial): item, persona, persona:item, run"


def sampled_matches(judgements: pl.DataFrame, runs: int, seed: int) -> pl.DataFrame:
    """Per judgement row, ``matches``: how many of ``runs`` draws gave the human's option
    (``runs`` column). The same seed gives the same draws.

    >>> frame = pl.DataFrame({"model": ["m"] * 2, "experiment": ["e"] * 2,
    ...     "participant": ["1"] * 2, "session": [0, 0], "choice": [0, 1], "item": ["a", "b"],
    ...     "persona": ["p", "p"], "round": [0, 0], "p_human": [1.0, 0.0]})
    >>> sampled_matches(frame, 5, seed=0)["matches"].to_list()
    [5, 0]
    """
    counts = []
    for row in judgements.iter_rows(named=True):
        hits = 0
        for run in range(runs):
            stream = run_seed(
                row["model"],
                row["experiment"],
                row["participant"],
                f"judge:{row['persona']}@{row['round']}#{row['choice']}",
                run,
                config_seed=seed,
                session=row["session"],
            )
            hits += bool(np.random.default_rng(stream).random() < row["p_human"])
        counts.append(hits)
    return judgements.with_columns(
        matches=pl.Series(counts, dtype=pl.Int64), runs=pl.lit(runs, dtype=pl.Int64)
    )


def sampled_shares(
    judgements: pl.DataFrame,
    runs: int,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    prob: float,
) -> pl.DataFrame:
    """Per model, the data-scale shares of the sampled judgements' V1 (``FORMULA``;
    cells split by round, so a persona's two rounds of an item are two cells), rows as
    :func:`study.stakeholders.stats.decomposition`'s with ``fit`` = ``FIT``; empty when
    ``runs`` is 0."""
    from study.variance.variance_model import VarianceModel

    if runs == 0:
        return pl.DataFrame()
    rows: list[dict[str, Any]] = []
    for (model,), of_model in judgements.group_by(["model"], maintain_order=True):
        counted = sampled_matches(of_model, runs, seed).with_columns(
            pl.col("round").cast(pl.String)
        )
        result = VarianceModel(
            counted, FORMULA, family="binomial", residual="run", cell_columns=["round"]
        ).fit(
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            ci_prob=prob,
            ci_kind="eti",
            log_likelihood=False,
        )
        rows += [{**row, "fit": FIT} for row in share_rows(str(model), result, counted)]
    return pl.DataFrame(rows)
