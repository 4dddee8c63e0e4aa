"""The C6 axis table: per layer, persona space's components, the assistant axis, its
cosine with PC1 against the null, its split-half reliability and held-out AUROC.

Definitions: :mod:`study.persona_space.space` and :mod:`study.persona_space.reliability`.
Every random choice (null splits, halves) comes from one seed, drawn afresh per layer
from the same seed so that layers are compared on the same splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from study.persona_space.means import cell_means, condition_means
from study.persona_space.records import ActivationSet
from study.persona_space.reliability import halves, split_half
from study.persona_space.space import (
    components_reaching,
    cosine,
    null_cosines,
    null_splits,
    pca,
    split_axis,
    unit,
)

AXIS_COLUMNS = [
    "model",
    "layer",
    "cos_pc1",
    "null_upper",
    "p_value",
    "null_draws",
    "split_half_cos",
    "auroc",
    "split_draws",
    "n_persons",
    "n_conditions",
    "components_70",
    "pc1_share",
    "axis_norm",
]


@dataclass
class AxisResult:
    """``table``: one row per layer (:data:`AXIS_COLUMNS`); ``components``: per layer and
    component, its ``share`` of variance and the ``cumulative`` share; ``axes``: layer ->
    the unit assistant axis (from all persons), for projections; ``notes``."""

    table: pd.DataFrame
    components: pd.DataFrame
    axes: dict[int, np.ndarray]
    notes: list[str] = field(default_factory=list)


def assistant_mask(conditions: Sequence[str], assistant: Sequence[str]) -> np.ndarray:
    """Which of ``conditions`` play the assistant; every name in ``assistant`` must be one."""
    missing = [name for name in assistant if name not in conditions]
    if missing or not assistant:
        raise ValueError(
            f"assistant condition(s) {missing or list(assistant)} not among the conditions "
            f"{list(conditions)}"
        )
    return np.array([c in assistant for c in conditions])


def axis_table(
    acts: ActivationSet,
    *,
    assistant: Sequence[str] = ("assistant",),
    layers: Sequence[int] | None = None,
    null_draws: int = 1000,
    split_draws: int = 20,
    variance_target: float = 0.7,
    quantile: float = 0.95,
    seed: int = 0,
) -> AxisResult:
    """The axis table of ``acts`` at ``layers`` (default: every recorded layer).
    ``null_upper`` is the ``quantile`` of the null; ``p_value`` is ``(1 + #{null >=
    observed}) / (1 + null_draws)``."""
    chosen = list(acts.layers if layers is None else layers)
    rows, shares_rows, axes, notes = [], [], {}, []
    for layer in chosen:
        cells = cell_means(acts, layer)
        is_assistant = assistant_mask(cells.conditions, assistant)
        means = condition_means(cells)
        shares, components = pca(means)
        axis = split_axis(means, is_assistant)
        observed = abs(cosine(axis, components[0]))
        rng = np.random.default_rng(seed)
        null = null_cosines(
            means, components[0], null_splits(len(means), is_assistant, null_draws, rng)
        )
        splits = halves(len(cells.persons), split_draws, np.random.default_rng([seed, 1]))
        half_cos, area, usable = split_half(cells, acts.layer(layer), is_assistant, splits)
        if usable < len(splits):
            notes.append(
                f"layer {layer}: {len(splits) - usable} of {len(splits)} random halves left "
                "out: a half had no person under some condition"
            )
        rows.append(
            {
                "model": acts.model,
                "layer": layer,
                "cos_pc1": observed,
                "null_upper": float(np.quantile(null, quantile)),
                "p_value": float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size)),
                "null_draws": int(null.size),
                "split_half_cos": half_cos,
                "auroc": area,
                "split_draws": usable,
                "n_persons": len(cells.persons),
                "n_conditions": len(cells.conditions),
                "components_70": components_reaching(shares, variance_target),
                "pc1_share": float(shares[0]),
                "axis_norm": float(np.linalg.norm(axis)),
            }
        )
        cumulative = np.cumsum(shares)
        for number, (share, total) in enumerate(zip(shares, cumulative, strict=True), start=1):
            shares_rows.append(
                {
                    "model": acts.model,
                    "layer": layer,
                    "component": number,
                    "share": float(share),
                    "cumulative": float(total),
                }
            )
        axes[layer] = unit(axis)
    return AxisResult(
        table=pd.DataFrame(rows, columns=AXIS_COLUMNS),
        components=pd.DataFrame(shares_rows),
        axes=axes,
        notes=notes,
    )
