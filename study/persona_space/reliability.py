"""How well the assistant axis replicates across persons: split-half cosine and
held-out AUROC.

Both use random halves of the persons (seeded, ``draws`` of them). For each half:

- **split-half cosine**: the axis from one half's condition means against the other's
  (signed: an axis has a direction, assistant minus the rest); the mean over draws.
- **held-out AUROC**: the axis from one half, each choice point of the other half
  projected on it, the AUROC of assistant choice points against all the others (the
  probability that a random assistant point projects higher than a random other one,
  ties counting half); the mean over both directions of every draw. 0.5 is chance.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from study.persona_space.means import Cells, condition_means
from study.persona_space.space import cosine, split_axis, unit


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the ``positive`` mask (Mann-Whitney,
    ties half); NaN without both classes.

    >>> auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True]))
    0.75
    """
    n_pos = int(positive.sum())
    n_neg = int(positive.size - n_pos)
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def halves(n_persons: int, draws: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``draws`` random halves of the persons as boolean masks (the first half; the
    second is its complement, one person larger when the count is odd)."""
    if n_persons < 2:
        raise ValueError(f"split halves need at least 2 persons, got {n_persons}")
    out = []
    for _ in range(draws):
        mask = np.zeros(n_persons, dtype=bool)
        mask[rng.permutation(n_persons)[: n_persons // 2]] = True
        out.append(mask)
    return out


def half_axis(cells: Cells, persons: np.ndarray, assistant: np.ndarray) -> np.ndarray | None:
    """The axis from the persons in ``persons``; None when that half lacks a condition."""
    means = condition_means(cells, persons)
    if np.isnan(means).any():
        return None
    return split_axis(means, assistant)


def split_half(
    cells: Cells, states: np.ndarray, assistant: np.ndarray, splits: list[np.ndarray]
) -> tuple[float, float, int]:
    """``(split_half_cos, auroc, usable)``: the means over the ``splits`` in which both
    halves have every condition (module docstring), and how many those were. ``states``
    are the layer's rows (``[n_rows, hidden]``) in the set's order."""
    cosines, areas = [], []
    row_assistant = assistant[cells.condition_of_row]
    for first in splits:
        axes = [half_axis(cells, half, assistant) for half in (first, ~first)]
        if axes[0] is None or axes[1] is None:
            continue
        cosines.append(cosine(axes[0], axes[1]))
        for axis, held_out in ((axes[0], ~first), (axes[1], first)):
            rows = held_out[cells.person_of_row]
            projection = states[rows] @ unit(axis)
            areas.append(auroc(projection, row_assistant[rows]))
    if not cosines:
        return float("nan"), float("nan"), 0
    return float(np.mean(cosines)), float(np.mean(areas)), len(cosines)
