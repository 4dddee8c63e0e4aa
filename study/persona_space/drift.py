"""Drift: the projection of each choice point on the assistant axis against its position
k, a slope per condition (:mod:`study.persona_space.slopes`), and which way each persona
condition moves as the transcript grows.

The projection is ``<h, axis / |axis|>`` at one layer (by default the middle recorded
layer), the axis pointing from the other conditions toward the assistant: a larger
projection is more assistant-like. ``x`` is the choice index k.

Direction of a condition ``q`` (not ``none``, not the assistant), from the posterior of
its slope ``b_q`` and of ``b_q - b_none``, 94% intervals by default:

- **toward the assistant** when ``b_q``'s interval lies above 0, **away from the
  assistant** when below;
- **toward none** when ``b_q - b_none``'s interval excludes 0 with the sign opposite to
  ``position_q - position_none`` (the gap to none closes), **away from none** when the
  same sign; ``position`` is the condition's mean projection (over persons of their
  mean over choice points);
- **undecided** for either part whose interval contains 0. A fit that failed its
  diagnostics gets no direction (``failed fit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

from study.persona_space.means import cell_means, condition_means
from study.persona_space.records import CONDITION, INDEX, PERSON, ActivationSet
from study.persona_space.slopes import SlopeResult, fit_slopes
from study.variance.tables import interval

NONE = "none"


@dataclass
class DriftResult:
    """``table``: the slope table (model, condition, slope, lower, upper, diagnostics,
    ...) with ``position`` (mean projection), ``vs_none_lower``/``vs_none_upper`` (the
    interval of ``b_q - b_none``) and ``direction``; ``fit``: the slope fit; ``layer``."""

    table: pd.DataFrame
    fit: SlopeResult
    layer: int


def projections(acts: ActivationSet, axis: np.ndarray, layer: int) -> pl.DataFrame:
    """Rows ``[person, condition, x, y]``: each choice point's index and projection on
    the unit ``axis`` at ``layer``."""
    unit_axis = axis / np.linalg.norm(axis)
    return pl.DataFrame(
        {
            "person": acts.keys[PERSON],
            "condition": acts.keys[CONDITION],
            "x": acts.keys[INDEX].cast(pl.Float64),
            "y": acts.layer(layer) @ unit_axis,
        }
    )


def positions(acts: ActivationSet, axis: np.ndarray, layer: int) -> dict[str, float]:
    """Each condition's mean projection (two-stage mean, as the axis uses)."""
    cells = cell_means(acts, layer)
    means = condition_means(cells) @ (axis / np.linalg.norm(axis))
    return dict(zip(cells.conditions, means.tolist(), strict=True))


def direction(
    fit: SlopeResult,
    condition: str,
    position: dict[str, float],
    prob: float,
    assistant: Sequence[str],
) -> tuple[str, float, float]:
    """The statement of the module docstring and the interval of ``b_q - b_none``."""
    if condition == NONE:
        return "reference", float("nan"), float("nan")
    if condition in assistant:
        return "assistant", float("nan"), float("nan")
    if not fit.passed:
        return "failed fit", float("nan"), float("nan")
    low, high = interval(fit.draws[condition], prob, "eti")
    if low > 0:
        toward_assistant = "toward the assistant"
    elif high < 0:
        toward_assistant = "away from the assistant"
    else:
        toward_assistant = "undecided on the assistant"
    if NONE not in fit.draws:
        return toward_assistant, float("nan"), float("nan")
    low_none, high_none = interval(fit.draws[condition] - fit.draws[NONE], prob, "eti")
    gap = position[condition] - position[NONE]
    if low_none > 0 or high_none < 0:
        closing = (low_none > 0) != (gap > 0)
        relative = "toward none" if closing else "away from none"
    else:
        relative = "undecided on none"
    return f"{toward_assistant}; {relative}", low_none, high_none


def drift(
    acts: ActivationSet,
    axis: np.ndarray,
    *,
    layer: int | None = None,
    assistant: Sequence[str] = ("assistant",),
    prob: float = 0.94,
    **sampling: object,
) -> DriftResult:
    """Fit drift on ``acts`` along ``axis`` (e.g. ``axis_table(acts).axes[layer]``) at
    ``layer`` (default: the middle recorded layer); ``sampling`` goes to
    :func:`~study.persona_space.slopes.fit_slopes` (draws, tune, chains, cores, seed,
    retries, sampler, target_accept)."""
    chosen = acts.middle_layer() if layer is None else layer
    rows = projections(acts, axis, chosen)
    fit = fit_slopes(rows, model_name=acts.model, prob=prob, what="drift fit", **sampling)  # type: ignore[arg-type]
    position = positions(acts, axis, chosen)
    statements = [
        direction(fit, condition, position, prob, assistant) for condition in fit.table["condition"]
    ]
    table = fit.table.assign(
        position=[position[c] for c in fit.table["condition"]],
        vs_none_lower=[s[1] for s in statements],
        vs_none_upper=[s[2] for s in statements],
        direction=[s[0] for s in statements],
        layer=chosen,
    )
    return DriftResult(table=table, fit=fit, layer=chosen)
