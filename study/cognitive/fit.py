"""Maximum-likelihood fitting of a cognitive model, deterministic.

The negative log-likelihood of a choice sequence is ``-sum log P(chosen option)``
under the model's one-step-ahead predictions. It is minimised with L-BFGS-B inside the
parameter bounds from several starts: the bounds' centre, then uniform draws inside
the bounds from a seeded generator. The start with the lowest optimum wins (the first
one on ties), so the same data, starts and seed give the same parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

from study.cognitive.trials import Trials

Predict = Callable[[Sequence[float], Trials], np.ndarray]

# Probabilities are floored before the log so that a start at a bound cannot give inf.
TINY = 1e-300


def negative_log_likelihood(predict: Predict, theta: Sequence[float], trials: Trials) -> float:
    """``-sum log P(chosen)`` of ``trials`` under ``predict(theta, trials)``."""
    probabilities = predict(theta, trials)
    picked = probabilities[np.arange(len(trials)), trials.chosen]
    return float(-np.log(np.maximum(picked, TINY)).sum())


def maximum_likelihood(
    predict: Predict,
    bounds: Sequence[tuple[float, float]],
    trials: Trials,
    starts: int,
    seed: int,
) -> tuple[tuple[float, ...], float]:
    """The parameters minimising the NLL of ``trials`` and that minimum."""
    if starts < 1:
        raise ValueError(f"starts must be at least 1, got {starts}")
    low = np.array([b[0] for b in bounds], dtype=float)
    high = np.array([b[1] for b in bounds], dtype=float)
    rng = np.random.default_rng(seed)
    points = [(low + high) / 2.0] + [rng.uniform(low, high) for _ in range(starts - 1)]
    best: tuple[tuple[float, ...], float] | None = None
    for x0 in points:
        result = minimize(
            lambda theta: negative_log_likelihood(predict, theta, trials),
            x0,
            method="L-BFGS-B",
            bounds=list(zip(low, high, strict=True)),
        )
        theta = tuple(float(x) for x in np.clip(result.x, low, high))
        value = negative_log_likelihood(predict, theta, trials)
        if best is None or value < best[1]:
            best = (theta, value)
    assert best is not None
    return best
