"""Persona space at one layer: condition means, their principal components, the
assistant axis, its cosine with the first component and that cosine's null.

Everything here works on plain arrays; :mod:`study.persona_space.means` makes them from
an :class:`~study.persona_space.records.ActivationSet`.

- A condition's **mean** is the mean over persons of each person's mean over its choice
  points under that condition (two stages, so a person with a long transcript weighs no
  more than one with a short one).
- **PCA** of the condition means: centred over conditions, singular value decomposition;
  the share of variance of each component, and the number of components whose
  cumulative share first reaches 70%.
- The **assistant axis**: the mean of the assistant condition(s) minus the mean of the
  other conditions' means (each condition counts once).
- **cos_pc1**: ``|cos(axis, PC1)|`` (a component's sign is arbitrary).
- Its **null**: the same statistic for a pseudo-axis from a random split of the
  conditions, a random set of as many non-assistant conditions as there are assistant
  ones playing the assistant, against all the others (the assistant among them). Under
  the hypothesis that the assistant is one condition like the others, its statistic is
  exchangeable with these. Splits are drawn with a seed; when there are no more
  distinct splits than draws, every split is taken once instead (with one assistant
  condition and C conditions there are only C - 1: the null is then exact, and coarse).
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def unit(vector: np.ndarray) -> np.ndarray:
    """``vector / |vector|``; a zero vector stays zero (its cosine with anything is 0)."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else np.zeros_like(vector)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Signed cosine of two vectors (0 when either is zero).

    >>> cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    0.7071067811865475
    """
    return float(unit(a) @ unit(b))


def pca(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of the rows of ``means`` (conditions x hidden), centred over
    rows: ``(shares, components)``, the share of variance of each component (summing to
    1; all 0 when the rows are identical) and the unit components as rows, largest first.
    There are at most ``rows - 1`` informative components.

    >>> shares, components = pca(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [0.0, -0.5]]))
    >>> shares.round(3).tolist(), np.abs(components[0]).tolist()
    ([0.8, 0.2], [1.0, 0.0])
    """
    centred = means - means.mean(axis=0, keepdims=True)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    keep = max(min(means.shape[0] - 1, components.shape[0]), 1)
    power = singular[:keep] ** 2
    total = float(power.sum())
    shares = power / total if total > 0 else np.zeros_like(power)
    return shares, components[:keep]


def components_reaching(shares: np.ndarray, target: float) -> int:
    """The number of leading components whose cumulative share first reaches ``target``
    (0 when no variance at all).

    >>> components_reaching(np.array([0.5, 0.3, 0.2]), 0.7)
    2
    """
    if not shares.size or shares.sum() <= 0:
        return 0
    cumulative = np.cumsum(shares)
    # A rounding hair below the target still reaches it.
    return int(np.searchsorted(cumulative, target - 1e-12) + 1)


def split_axis(means: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Mean of the ``chosen`` rows minus the mean of the others (each row counts once)."""
    return means[chosen].mean(axis=0) - means[~chosen].mean(axis=0)


def null_splits(
    n_conditions: int, assistant: np.ndarray, draws: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """The random splits of the null (module docstring) as boolean masks over the
    conditions: sets of ``assistant.sum()`` non-assistant conditions, drawn ``draws``
    times, or all such sets once when there are at most ``draws`` of them."""
    size = int(assistant.sum())
    others = np.flatnonzero(~assistant)
    if size < 1 or others.size <= size:
        raise ValueError(
            f"a null of random splits needs more non-assistant conditions ({others.size}) "
            f"than assistant ones ({size})"
        )

    def mask(members: np.ndarray | tuple[int, ...]) -> np.ndarray:
        out = np.zeros(n_conditions, dtype=bool)
        out[list(members)] = True
        return out

    if math.comb(others.size, size) <= draws:
        return [mask(chosen) for chosen in itertools.combinations(others.tolist(), size)]
    return [mask(rng.choice(others, size=size, replace=False)) for _ in range(draws)]


def null_cosines(means: np.ndarray, pc1: np.ndarray, splits: list[np.ndarray]) -> np.ndarray:
    """``|cos(pseudo-axis, PC1)|`` for each split. PC1 does not depend on the labels, so it
    is the observed one."""
    return np.array([abs(cosine(split_axis(means, chosen), pc1)) for chosen in splits])
