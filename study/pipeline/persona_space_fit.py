"""C6's statistics on one model's pipeline outputs: the axis table, drift and washout
(study.persona_space), what the figures draw, the same-model check and the verdict.

The verdict follows T6 (STUDY.md): ``cos_pc1`` above 0.6 at every recorded layer and
above 0.71 at the middle layer. It is a verdict only where the data can carry one: the
axis must stand out from its null at the middle layer (``cos_pc1 > null_upper``, else
no separate assistant direction was found) and be reproducible across persons
(split-half cosine at least ``persona_space.min_split_half``, else too few persons).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from study.persona_space import activation_set, axis_table, drift, washout
from study.persona_space.config import PersonaSpaceConfig
from study.persona_space.drift import projections
from study.persona_space.means import cell_means, condition_means
from study.persona_space.records import ActivationSet
from study.persona_space.space import pca
from study.persona_space.washout import washout_rows
from study.pipeline.persona_space_steps import condition_label

# T6's thresholds (STUDY.md, targets).
EVERY_LAYER, MIDDLE_LAYER = 0.6, 0.71


@dataclass
class SpaceOutcome:
    """Every table C6 writes for one model, and what the step records."""

    axis: pd.DataFrame
    components: pd.DataFrame
    coordinates: pd.DataFrame
    drift: pd.DataFrame
    trajectory: pd.DataFrame
    washout: pd.DataFrame
    washout_curve: pd.DataFrame
    summary: dict[str, Any]
    # The unit axis at the middle layer (``axis.npy``), for steering.
    axis_vector: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.summary["fits_passed"])

    def save(self, path) -> None:
        """Write each table as ``NAME.csv``, ``c6.json`` and ``notes.json`` via ``path``
        (a function from a file name to where it goes, as StagedOutputs.path)."""
        for name in (
            "axis",
            "components",
            "coordinates",
            "drift",
            "trajectory",
            "washout",
            "washout_curve",
        ):
            getattr(self, name).to_csv(path(f"{name}.csv"), index=False)
        np.save(path("axis.npy"), self.axis_vector)
        Path(path("c6.json")).write_text(json.dumps(self.summary, indent=2) + "\n")
        Path(path("notes.json")).write_text(json.dumps(self.notes, indent=2) + "\n")


def coordinates(acts: ActivationSet, layer: int, axis: np.ndarray) -> pd.DataFrame:
    """Each condition's mean (over persons) in persona space's first two components at
    ``layer``, and on the axis: what the persona-space figure draws."""
    cells = cell_means(acts, layer)
    means = condition_means(cells)
    _, components = pca(means)
    centred = means - means.mean(axis=0, keepdims=True)
    first_two = centred @ components[:2].T
    pc2 = first_two[:, 1] if first_two.shape[1] > 1 else np.zeros(len(means))
    return pd.DataFrame(
        {
            "condition": cells.conditions,
            "layer": layer,
            "pc1": first_two[:, 0],
            "pc2": pc2,
            "projection": means @ axis,
            "n_persons": cells.present.sum(axis=0),
        }
    )


def trajectory(acts: ActivationSet, axis: np.ndarray, layer: int) -> pd.DataFrame:
    """Per condition and choice index: the mean projection on the axis over persons,
    its standard error and how many persons reach that index."""
    rows = projections(acts, axis, layer)
    return _curve(rows.rename({"x": "index"}), "projection")


def washout_curve(paired: pl.DataFrame) -> pd.DataFrame:
    """Per condition and choice index: the mean ``|NLL_q - NLL_none|`` over persons."""
    rows = paired.with_columns((pl.col("x").exp() - 1.0).round().alias("index"))
    return _curve(rows, "gap")


def _curve(rows: pl.DataFrame, name: str) -> pd.DataFrame:
    # Persons weigh equally: a person's sessions are averaged first.
    per_person = rows.group_by("condition", "index", "person").agg(pl.col("y").mean())
    curve = (
        per_person.group_by("condition", "index")
        .agg(
            pl.col("y").mean().alias(name),
            (pl.col("y").std() / pl.len().sqrt()).alias("se"),
            pl.len().alias("n_persons"),
        )
        .sort("condition", "index")
    )
    return curve.with_columns(pl.col("index").cast(pl.Int64)).to_pandas()


def same_model(scores: pl.DataFrame, keys: pl.DataFrame) -> dict[str, Any]:
    """The activations engine's NLLs against the scoring engine's on the same choice
    points: evidence that the states come from the weights that scored."""
    on = ["experiment", "participant", "session", "persona", "index"]
    joined = keys.join(
        scores.rename({"choice": "index"}).select(*on, pl.col("nll").alias("nll_scoring")),
        on=on,
        how="inner",
    )
    if not joined.height:
        return {"choice_points": 0}
    diff = (joined["nll"] - joined["nll_scoring"]).to_numpy()
    return {
        "choice_points": int(diff.size),
        "max_abs_diff": float(np.max(np.abs(diff))),
        "mean_abs_diff": float(np.mean(np.abs(diff))),
        "mean_diff": float(np.mean(diff)),
    }


def verdict(axis: pd.DataFrame, middle: int, min_split_half: float) -> tuple[str, str]:
    """T6's verdict (module docstring) and the reason in words."""
    row = axis[axis["layer"] == middle].iloc[0]
    lowest = axis.iloc[int(axis["cos_pc1"].to_numpy().argmin())]
    if not row["split_half_cos"] >= min_split_half:
        return "undecided", (
            f"the axis is not reproducible across persons at layer {middle} (split-half "
            f"cosine {row['split_half_cos']:.2f} < {min_split_half}; {int(row['n_persons'])} "
            "persons)"
        )
    if not row["cos_pc1"] > row["null_upper"]:
        return "not met", (
            f"at layer {middle} the axis is no closer to PC1 than random splits of the "
            f"conditions (cos {row['cos_pc1']:.2f}, null 95th percentile "
            f"{row['null_upper']:.2f})"
        )
    met = row["cos_pc1"] > MIDDLE_LAYER and lowest["cos_pc1"] > EVERY_LAYER
    return ("met" if met else "not met"), (
        f"cos(axis, PC1) {row['cos_pc1']:.2f} at layer {middle} (T6: > {MIDDLE_LAYER}), "
        f"lowest {lowest['cos_pc1']:.2f} at layer {int(lowest['layer'])} (T6: > {EVERY_LAYER})"
    )


def persona_space_outputs(
    scores: pl.DataFrame,
    keys: pl.DataFrame,
    values: np.ndarray,
    layers: Sequence[int],
    cfg: PersonaSpaceConfig,
    model: str,
    sampling: Mapping[str, Any],
) -> SpaceOutcome:
    """C6 for one model: ``scores`` (the respond step's score rows), ``keys`` and
    ``values`` (the activations step's), ``sampling`` for the drift and washout fits."""
    acts = activation_set(
        keys.select("experiment", "participant", "session", "condition", "index"),
        values,
        layers=layers,
        model=model,
        source="keys.parquet",
    )
    table = axis_table(
        acts,
        assistant=cfg.assistant,
        layers=cfg.layers,
        null_draws=cfg.null_draws,
        split_draws=cfg.split_draws,
        variance_target=cfg.variance_target,
        quantile=cfg.null_quantile,
        seed=cfg.seed,
    )
    middle = acts.middle_layer() if cfg.drift_layer is None else cfg.drift_layer
    if middle not in table.axes:
        raise ValueError(f"persona_space.drift_layer {middle} is not among the axis layers")
    axis = table.axes[middle]
    drifted = drift(
        acts, axis, layer=middle, assistant=cfg.assistant, prob=cfg.prob, **dict(sampling)
    )
    scored = scores.rename({"choice": "index"}).with_columns(
        pl.col("persona").map_elements(condition_label, return_dtype=pl.String)
    )
    washed = washout(scored, model=model, prob=cfg.prob, source="scores.parquet", **sampling)
    outcome, reason = verdict(table.table, middle, cfg.min_split_half)
    directions = drifted.table["direction"].value_counts().to_dict()
    fading = washed.table[washed.table["upper"] < 0]["condition"].tolist()
    summary = {
        "verdict": outcome,
        "reason": reason,
        "middle_layer": middle,
        "n_persons": int(table.table["n_persons"].max()),
        "n_conditions": int(table.table["n_conditions"].max()),
        "n_choice_points": int(acts.keys.height),
        "drift_directions": {str(k): int(v) for k, v in directions.items()},
        "washout_fading": fading,
        "drift_passed": bool(drifted.fit.passed),
        "washout_passed": bool(washed.passed),
        "fits_passed": bool(drifted.fit.passed and washed.passed),
        "same_model": same_model(scores, keys),
        # The scale of steering's alpha: the spread of every choice point's projection.
        "projection_sd": float(np.std(projections(acts, axis, middle)["y"].to_numpy(), ddof=1)),
    }
    return SpaceOutcome(
        axis=table.table,
        components=table.components,
        coordinates=coordinates(acts, middle, axis),
        drift=drifted.table,
        trajectory=trajectory(acts, axis, middle),
        washout=washed.table,
        washout_curve=washout_curve(washout_rows(scored, "scores.parquet")),
        summary=summary,
        axis_vector=axis,
        notes=[*table.notes, *drifted.fit.notes, *washed.notes],
    )
