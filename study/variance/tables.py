"""Tidy tables from posterior draws: point estimate and credible interval per quantity.

Intervals come from ``arviz_stats`` (equal-tailed: linear quantiles; highest density:
the narrowest window of sorted draws), and a fit's defaults follow ArviZ's settings
``stats.ci_prob`` and ``stats.ci_kind`` (:func:`resolve_interval`).

>>> import numpy as np
>>> lower, upper = interval(np.arange(101.0), prob=0.9, kind="eti")
>>> round(lower, 6), round(upper, 6)
(5.0, 95.0)
"""

from __future__ import annotations

from typing import Literal, cast

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.base import array_stats

from study.errors import ConfigError

IntervalKind = Literal["eti", "hdi"]
# The row label of a pooled estimate (over experiments) in a benefit table.
POOLED = "(pooled)"


def resolve_interval(prob: float | None, kind: str | None) -> tuple[float, IntervalKind]:
    """The interval's probability and kind: as given, else ArviZ's ``stats.ci_prob`` and
    ``stats.ci_kind``; either out of range is a :class:`~study.errors.ConfigError`.

    >>> with az.rc_context({"stats.ci_prob": 0.9, "stats.ci_kind": "hdi"}):
    ...     resolve_interval(None, None)
    (0.9, 'hdi')
    """
    chosen_prob = float(az.rcParams["stats.ci_prob"] if prob is None else prob)
    chosen_kind = str(az.rcParams["stats.ci_kind"] if kind is None else kind)
    if not 0 < chosen_prob < 1:
        raise ConfigError(f"prob must be between 0 and 1, got {chosen_prob}")
    if chosen_kind not in ("eti", "hdi"):
        raise ConfigError(f"interval kind must be 'eti' or 'hdi', got {chosen_kind!r}")
    return chosen_prob, cast(IntervalKind, chosen_kind)


def interval(values: np.ndarray, prob: float, kind: IntervalKind) -> tuple[float, float]:
    """Equal-tailed or highest-density interval of 1-D draws (``arviz_stats``)."""
    draws = np.asarray(values, dtype=np.float64).ravel()
    if kind == "eti":
        low, high = array_stats.eti(draws, prob)
    elif kind == "hdi":
        low, high = array_stats.hdi(draws, prob)
    else:
        raise ValueError(f"interval kind must be 'eti' or 'hdi', got {kind!r}")
    return float(low), float(high)


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
