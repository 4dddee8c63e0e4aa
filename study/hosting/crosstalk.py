"""C4 cross-talk: does a co-hosted partner's last response move the target's choice,
relative to the target's own (STUDY.md, "C4: hosting several personas in one context")?

Input: rows ``[experiment, person, ct, ss]``, one per probe: ``ct`` the size of the
change in the probed span's (centred log) option probabilities when only the partner's
last response is swapped, ``ss`` when the target's own is; both at least 0.

Per experiment, and pooled over experiments (``'(pooled)'``), the ratio of means

    CT/SS = sum(ct) / sum(ss)

over all its probes (a probe whose own swap moved nothing still counts in the
denominator, which a mean of per-probe ratios could not do). Its interval is a
percentile bootstrap clustered on persons: each resample draws an experiment's persons
with replacement (all of a drawn person's probes together, since one person's probes
share their partner and history), and the pooled ratio of a resample sums the
experiments' resampled numerators and denominators, each experiment resampled within
itself. The bounds are the resamples' order statistics taken outward (no
interpolation), so that a resample whose ``sum(ss)`` is 0, whose ratio counts as
``+inf``, yields an infinite upper bound rather than NaN.

An experiment whose ``sum(ss)`` is 0 has no ratio: NaN estimate and bounds, and a note;
its probes still count in the pooled ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from study.errors import ConfigError
from study.hosting.rows import EXPERIMENT, PERSON, person_rows
from study.variance.design import Source
from study.variance.individuation import POOLED

# Person draws held in memory at once (resamples x persons): bounds the memory of a
# bootstrap over many persons while keeping it vectorised.
_CHUNK = 2**21


@dataclass
class CrosstalkResult:
    """``table``: one row for ``'(pooled)'`` and one per experiment (sorted):
    ``estimate`` (``sum(ct) / sum(ss)``), ``lower``, ``upper`` (percentile cluster
    bootstrap of ``prob``), ``n_persons``, ``n_probes``, ``interval``; ``notes``:
    experiments without a ratio, resamples without any self-swap signal, experiments
    of one person (an interval of no width)."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def crosstalk_ratio(
    rows: pd.DataFrame | pl.DataFrame,
    *,
    prob: float = 0.94,
    resamples: int = 2000,
    seed: int = 0,
    source: str = "data frame",
) -> CrosstalkResult:
    """CT/SS per experiment and pooled, with percentile cluster-bootstrap intervals (see
    the module docstring); the same ``seed`` gives the same table. ``source`` names the
    rows in error messages."""
    if not 0.0 < prob < 1.0:
        raise ConfigError(f"prob must be between 0 and 1, got {prob}")
    if resamples < 1:
        raise ConfigError(f"resamples must be at least 1, got {resamples}")
    where = Source(source)
    frame = person_rows(rows, ["ct", "ss"], where, nonnegative=True)
    if not frame.height:
        raise where.error("no probes: the rows are empty")
    persons = (
        frame.group_by([EXPERIMENT, PERSON])
        .agg(pl.col("ct").sum(), pl.col("ss").sum(), pl.len().alias("probes"))
        .sort([EXPERIMENT, PERSON])
    )
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    records = []
    pooled_sums = np.zeros((resamples, 2))
    for (experiment,), group in persons.group_by(EXPERIMENT, maintain_order=True):
        sums = group.select("ct", "ss").to_numpy()
        resampled = resampled_sums(sums, resamples, rng)
        pooled_sums += resampled
        records.append(_row(str(experiment), sums, resampled, group, prob, notes))
    pooled = _row(POOLED, persons.select("ct", "ss").to_numpy(), pooled_sums, persons, prob, notes)
    table = pd.DataFrame([pooled, *records])
    table["interval"] = f"{round(prob * 100)}% percentile bootstrap over persons"
    return CrosstalkResult(table=table, notes=notes)


def resampled_sums(sums: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Column totals of ``sums`` (persons x columns) over ``resamples`` draws of as many
    persons with replacement: shape (resamples, columns).

    >>> totals = resampled_sums(np.array([[1.0, 2.0]]), 3, np.random.default_rng(0))
    >>> totals.tolist()
    [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]
    """
    n = sums.shape[0]
    out = np.empty((resamples, sums.shape[1]))
    step = max(1, _CHUNK // n)
    for start in range(0, resamples, step):
        stop = min(start + step, resamples)
        drawn = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = sums[drawn].sum(axis=1)
    return out


def _row(
    experiment: str,
    sums: np.ndarray,
    resampled: np.ndarray,
    persons: pl.DataFrame,
    prob: float,
    notes: list[str],
) -> dict[str, object]:
    """One table row: the ratio of the totals and its bootstrap bounds (module
    docstring); appends to ``notes`` what a reader must know about the row."""
    ct, ss = sums.sum(axis=0)
    counts = {"n_persons": persons.height, "n_probes": int(persons["probes"].sum())}
    if ss <= 0:
        notes.append(
            f"experiment {experiment!r}: sum(ss) is 0 (no swap of the target's own response "
            "moved its probe): CT/SS is undefined"
        )
        undefined = {"estimate": np.nan, "lower": np.nan, "upper": np.nan}
        return {"experiment": experiment, **undefined, **counts}
    if persons.height < 2:
        notes.append(f"experiment {experiment!r} has one person: its interval has no width")
    ratio = np.full(resampled.shape[0], np.inf)
    has_signal = resampled[:, 1] > 0
    ratio[has_signal] = resampled[has_signal, 0] / resampled[has_signal, 1]
    if not has_signal.all():
        notes.append(
            f"experiment {experiment!r}: {int((~has_signal).sum())} of {ratio.size} resamples "
            "have sum(ss) = 0; their ratio counts as +inf"
        )
    tail = (1.0 - prob) / 2.0
    return {
        "experiment": experiment,
        "estimate": float(ct / ss),
        "lower": float(np.quantile(ratio, tail, method="lower")),
        "upper": float(np.quantile(ratio, 1.0 - tail, method="higher")),
        **counts,
    }
