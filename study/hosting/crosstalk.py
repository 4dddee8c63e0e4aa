"""C4 cross-talk: does a co-hosted partner's last response move the target's choice,
relative to the target's own (STUDY.md, "C4: hosting several personas in one context")?

Input: rows ``[experiment, person, ct, ss]``, one per probe: ``ct`` the size of the
change in the probed span's (centred log) option probabilities when only the partner's
last response is swapped, ``ss`` when the target's own is; both at least 0.

Per experiment, and pooled over experiments (``'(pooled)'``), the ratio of means

    CT/SS = sum(ct) / sum(ss)

over all its probes (a probe whose own swap moved nothing still counts in the
denominator, which a mean of per-probe ratios could not do). Its interval is clustered
on persons (one person's probes share their partner and history): with ``z_p = ct_p -
R * ss_p`` summed over person p's n probes, the linearised variance of R is

    Var(R) = n / (n - 1) * sum_p (z_p - mean z)^2 / SS^2

over the row's n persons (one experiment's, or all of them for the pooled row), ``SS``
the total of ``ss``, and the interval is R +- t * sqrt(Var(R)) with Student's t on
n - 1 degrees of freedom, its lower end at 0 at the least. The pooled row treats every
person as one cluster rather than stratifying by experiment: an experiment of one person
adds to R but could add nothing to a stratified variance, and the bench found that to
undercover. A percentile bootstrap over persons was tried first: with the 3 to 7 persons
of a quick run its intervals were far too narrow (a resample of 3 persons has 10
distinct sums); t's heavier tails keep close to 94% there (tests/hosting/
test_crosstalk.py: 90-98% at 4 persons; bench/coverage_hosting.py end to end).

An experiment whose ``sum(ss)`` is 0 has no ratio: NaN estimate and bounds, and a note;
its probes still count in the pooled ratio. An experiment of one person has a ratio but
no interval (NaN bounds, a note).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl
from scipy.stats import t as student_t

from study.errors import ConfigError
from study.hosting.rows import EXPERIMENT, PERSON, person_rows
from study.variance.design import Source
from study.variance.individuation import POOLED


@dataclass
class CrosstalkResult:
    """``table``: one row for ``'(pooled)'`` and one per experiment (sorted):
    ``estimate`` (``sum(ct) / sum(ss)``), ``lower``, ``upper`` (the clustered t interval
    of ``prob``), ``n_persons``, ``n_probes``, ``interval``; ``notes``: experiments
    without a ratio or without an interval (one person)."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def crosstalk_ratio(
    rows: pd.DataFrame | pl.DataFrame,
    *,
    prob: float = 0.94,
    source: str = "data frame",
) -> CrosstalkResult:
    """CT/SS per experiment and pooled, with person-clustered t intervals (see the
    module docstring). ``source`` names the rows in error messages."""
    if not 0.0 < prob < 1.0:
        raise ConfigError(f"prob must be between 0 and 1, got {prob}")
    where = Source(source)
    frame = person_rows(rows, ["ct", "ss"], where, nonnegative=True)
    if not frame.height:
        raise where.error("no probes: the rows are empty")
    persons = (
        frame.group_by([EXPERIMENT, PERSON])
        .agg(pl.col("ct").sum(), pl.col("ss").sum(), pl.len().alias("probes"))
        .sort([EXPERIMENT, PERSON])
    )
    notes: list[str] = []
    records = [
        _row(str(experiment), group, prob, notes)
        for (experiment,), group in persons.group_by(EXPERIMENT, maintain_order=True)
    ]
    pooled = _row(POOLED, persons, prob, notes)
    table = pd.DataFrame([pooled, *records])
    table["interval"] = f"{round(prob * 100)}% t interval, clustered on persons"
    return CrosstalkResult(table=table, notes=notes)


def ratio_interval(sums: np.ndarray, prob: float) -> tuple[float, float, float]:
    """(R, lower, upper) from per-person (ct, ss) totals (module docstring); NaN bounds
    for one person, everything NaN when sum(ss) is 0.

    >>> persons = np.array([[0.2, 1.0], [0.1, 1.0], [0.3, 1.0]])
    >>> [round(v, 3) for v in ratio_interval(persons, 0.94)]
    [0.2, 0.0, 0.425]
    """
    ct, ss = (float(total) for total in sums.sum(axis=0))
    if ss <= 0:
        return np.nan, np.nan, np.nan
    ratio = ct / ss
    n = sums.shape[0]
    if n < 2:
        return ratio, np.nan, np.nan
    z = sums[:, 0] - ratio * sums[:, 1]
    se = np.sqrt(n / (n - 1) * float(((z - z.mean()) ** 2).sum())) / ss
    half = float(student_t.ppf(0.5 + prob / 2, n - 1)) * se
    return ratio, max(0.0, ratio - half), float(ratio + half)


def _row(
    experiment: str, persons: pl.DataFrame, prob: float, notes: list[str]
) -> dict[str, object]:
    """One table row, with the notes a reader must know about it."""
    ratio, lower, upper = ratio_interval(persons.select("ct", "ss").to_numpy(), prob)
    counts = {"n_persons": persons.height, "n_probes": int(persons["probes"].sum())}
    if np.isnan(ratio):
        notes.append(
            f"experiment {experiment!r}: sum(ss) is 0 (no swap of the target's own response "
            "moved its probe): CT/SS is undefined"
        )
    elif np.isnan(lower):
        notes.append(f"experiment {experiment!r} has one person: a ratio but no interval")
    return {"experiment": experiment, "estimate": ratio, "lower": lower, "upper": upper, **counts}
