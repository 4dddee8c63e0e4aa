"""C4's verdicts (STUDY.md, "C4: hosting several personas in one context"): each
estimate's, from its interval and the thresholds, and the model's, from its deciding
rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from study.hosting.config import FitSettings
from study.pipeline.evidence import Decision, decision_text, rope_verdict
from study.variance.individuation import POOLED


def row_verdict(statistic: str, lower: float, upper: float, settings: FitSettings) -> str:
    """One row's verdict from its interval (STUDY.md, C4's thresholds).

    >>> s = FitSettings()
    >>> row_verdict("crosstalk_ratio", 0.01, 0.05, s), row_verdict("leakage", 0.3, 0.5, s)
    ('holds (below 0.1)', 'fails (personas blend: above 0.25)')
    """
    if not np.isfinite(lower) or not np.isfinite(upper):
        return "no interval"
    if statistic in ("crosstalk_ratio", "leakage"):
        if lower > settings.blend:
            return f"fails (personas blend: above {settings.blend:g})"
        if statistic == "crosstalk_ratio" and upper < settings.crosstalk_holds:
            return f"holds (below {settings.crosstalk_holds:g})"
        if statistic == "leakage" and upper < settings.blend:
            return f"no blend (below {settings.blend:g})"
        return "undecided at this size"
    if statistic == "delta_nll":
        decision = rope_verdict(lower, upper, settings.rope)
        if decision is Decision.INSIDE:
            return "holds (inside the ROPE)"
        if decision is Decision.OUTSIDE:
            return "fails (outside the ROPE)"
        return "undecided at this size"
    if statistic.startswith("benefit"):
        return decision_text(rope_verdict(lower, upper, settings.rope))
    return "estimate (compare alone with co-hosted)"


def deciding_row(table: pd.DataFrame, statistic: str) -> pd.Series | None:
    """The row that decides ``statistic`` for a model: the pooled row, or, when one
    experiment has the statistic, that experiment's own. (A pooled row is the population
    mean over experiments; from one experiment its interval is the prior's spread
    between experiments, not evidence.)"""
    rows = table[table["statistic"] == statistic]
    experiments = rows[rows["experiment"] != POOLED]
    if len(experiments) == 1:
        return experiments.iloc[0]
    pooled = rows[rows["experiment"] == POOLED]
    return pooled.iloc[0] if len(pooled) else None


def c4_verdict(table: pd.DataFrame, settings: FitSettings) -> str:
    """The model's C4 verdict from its deciding rows (:func:`deciding_row`): holds when
    delta NLL's interval is inside the ROPE and CT/SS's upper bound below
    ``crosstalk_holds``; fails when leakage's or CT/SS's lower bound is above ``blend``;
    otherwise undecided."""

    def row(name: str) -> pd.Series | None:
        return deciding_row(table, name)

    needed = [row(name) for name in ("delta_nll", "crosstalk_ratio", "leakage")]
    if any(r is not None and r["diagnostics"] == "FAILED" for r in needed):
        return "FAILED (a fit failed its diagnostics)"
    delta, ratio, leakage = needed
    for blended in (ratio, leakage):
        if blended is not None and blended["lower"] > settings.blend:
            return "fails (the personas blend)"
    if delta is None or ratio is None:
        return "undecided (a design has no estimate)"
    inside = rope_verdict(delta["lower"], delta["upper"], settings.rope) is Decision.INSIDE
    if inside and ratio["upper"] < settings.crosstalk_holds:
        return "holds"
    return "undecided at this size"
