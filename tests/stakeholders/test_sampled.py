"""Sampled judgements: each run draws the judge's option from its judgement."""

from __future__ import annotations

import numpy as np
import polars as pl

from study.stakeholders.sampled import sampled_matches


def _frame(p: list[float]) -> pl.DataFrame:
    n = len(p)
    return pl.DataFrame(
        {
            "model": ["m"] * n,
            "experiment": ["e"] * n,
            "participant": [str(i % 3) for i in range(n)],
            "session": [0] * n,
            "choice": list(range(n)),
            "item": [f"e/{i % 3}/0/{i}" for i in range(n)],
            "persona": ["documents:e:A"] * n,
            "round": [0] * n,
            "p_human": p,
        }
    )


def test_matches_follow_the_judgement_and_the_seed() -> None:
    p = [0.1, 0.5, 0.9]
    counted = sampled_matches(_frame(p), 400, seed=0)
    rates = counted["matches"].to_numpy() / 400
    # Binomial rates within 4 standard errors of the judge's probability.
    assert np.all(np.abs(rates - p) < 4 * np.sqrt(np.array(p) * (1 - np.array(p)) / 400))
    assert counted.equals(sampled_matches(_frame(p), 400, seed=0))
    assert not counted["matches"].equals(sampled_matches(_frame(p), 400, seed=1)["matches"])


def test_each_run_keeps_its_draw_when_more_runs_are_asked() -> None:
    # A run's stream depends on its index only: 10 runs are the first 5 and 5 more.
    frame = _frame([0.5] * 20)
    five = sampled_matches(frame, 5, seed=3)["matches"].to_numpy()
    ten = sampled_matches(frame, 10, seed=3)["matches"].to_numpy()
    assert np.all(ten >= five) and np.all(ten - five <= 5)
