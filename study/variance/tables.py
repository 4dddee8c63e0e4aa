"""Tidy tables from posterior draws: point estimate and credible interval per quantity.

>>> import numpy as np
>>> lower, upper = interval(np.arange(101.0), prob=0.9, kind="eti")
>>> round(lower, 6), round(upper, 6)
(5.0, 95.0)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

IntervalKind = Literal["eti", "hdi"]


def interval(values: np.ndarray, prob: float, kind: IntervalKind) -> tuple[float, float]:
    """Equal-tailed or highest-density interval of 1-D draws."""
    values = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if kind == "eti":
        tail = (1.0 - prob) / 2.0
        low, high = np.quantile(values, [tail, 1.0 - tail])
        return float(low), float(high)
    if kind == "hdi":
        width = int(np.floor(prob * values.size))
        starts = values[: values.size - width]
        ends = values[width:]
        best = int(np.argmin(ends - starts))
        return float(starts[best]), float(ends[best])
    raise ValueError(f"interval kind must be 'eti' or 'hdi', got {kind!r}")


def summarise_draws(
    draws: np.ndarray, prob: float, kind: IntervalKind, prefix: str
) -> dict[str, float]:
    """``{prefix: mean, prefix_lower: ..., prefix_upper: ...}``."""
    low, high = interval(draws, prob, kind)
    return {prefix: float(np.mean(draws)), f"{prefix}_lower": low, f"{prefix}_upper": high}


def _column(posterior: xr.Dataset, name: str, dim: str, label: str) -> np.ndarray | None:
    if label not in posterior[name][dim].values:
        return None
    return np.asarray(posterior[name].sel({dim: label}).values).ravel()


def components_table(
    posterior: xr.Dataset, prob: float, kind: IntervalKind, passed: bool
) -> pd.DataFrame:
    """One row per component (and ``nonadditive``): variance, SD, latent and data shares.

    The latent share of a component is also its ICC.
    """
    labels = list(posterior["data_component"].values)
    rows = []
    for label in labels:
        row: dict[str, object] = {"component": label}
        variance = _column(posterior, "variance", "component", label)
        latent = _column(posterior, "latent_share", "component", label)
        data = _column(posterior, "data_share", "data_component", label)
        for prefix, draws in (
            ("variance", variance),
            ("sd", None if variance is None else np.sqrt(variance)),
            ("latent_share", latent),
            ("data_share", data),
        ):
            if draws is None:
                row |= {prefix: np.nan, f"{prefix}_lower": np.nan, f"{prefix}_upper": np.nan}
            else:
                row |= summarise_draws(draws, prob, kind, prefix)
        rows.append(row)
    table = pd.DataFrame(rows)
    table["interval"] = f"{round(prob * 100)}% {kind.upper()}"
    table["passed"] = passed
    return table
