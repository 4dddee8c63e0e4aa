"""T1: the Psych-201 paper's Cohen's d, exactly as its analysis code computes it.

STUDY.md, "The T1 protocol", Statistic: per experiment, the two arms are two unpaired
samples of response rows (one row per scored choice point): arm ``none`` is every row
scored without a profile, arm ``own`` every row scored with the participant's own
profile (only participants with at least one profile field have such rows). Over all
rows of each arm, the mean and the *population* standard deviation (divided by n, not
n - 1) of the NLL give

    d = (mean_none - mean_own) / sqrt((sd_none**2 + sd_own**2) / 2)

(positive: the profile lowers the NLL). Per model, the paper reports the mean of d over
experiments and its distribution (a box plot per model, its Fig. 5), and finds the mean
within about :data:`PAPER_BAND` of zero for every model.

Not the package's own paired, participant-level d
(:func:`study.variance.individuation.cohens_d_table`): that answers a different
question and is reported beside this one, never in its place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from study.variance.design import Source, first_bad_row, to_polars

# The paper's result: mean d within about this much of zero, for all 22 models.
PAPER_BAND = 0.03
ARMS = ("none", "own")
COLUMNS = ["experiment", "participant", "persona", "nll"]
# The output columns of paper_d, in order.
PAPER_D_COLUMNS = [
    "experiment",
    "mean_none",
    "sd_none",
    "n_none",
    "mean_own",
    "sd_own",
    "n_own",
    "d",
]


def paper_d(scores: pd.DataFrame | pl.DataFrame, *, source: str = "scores") -> pl.DataFrame:
    """Per experiment, the paper's d from long response rows.

    ``scores`` has at least the columns ``experiment``, ``participant``, ``persona`` and
    ``nll`` (a respond step's ``scores.parquet``); rows of personas other than ``none``
    and ``own`` are ignored. Returns one row per experiment that has rows in both arms,
    sorted by experiment, with the columns of :data:`PAPER_D_COLUMNS`; an experiment
    without ``own`` rows (no participant has a profile field) has no d and is left out
    (:func:`experiments_without_own` names them). A missing column, a missing value or
    a non-finite NLL is an error naming the row (``source``, line = row + 1) and the
    participant.

    >>> scores = pl.DataFrame({
    ...     "experiment": ["a"] * 5,
    ...     "participant": ["1", "1", "2", "1", "1"],
    ...     "persona": ["none", "none", "none", "own", "own"],
    ...     "nll": [1.0, 2.0, 3.0, 1.0, 2.0],
    ... })
    >>> row = paper_d(scores).row(0, named=True)
    >>> row["n_none"], row["mean_none"], round(row["sd_none"] ** 2, 6)  # population variance
    (3, 2.0, 0.666667)
    >>> row["n_own"], row["mean_own"], row["sd_own"]
    (2, 1.5, 0.5)
    >>> round(row["d"], 6)  # (2.0 - 1.5) / sqrt((2/3 + 1/4) / 2)
    0.738549
    """
    frame = _validated(scores, Source(source))
    stats = (
        frame.filter(pl.col("persona").is_in(ARMS))
        .group_by("experiment", "persona")
        .agg(
            pl.col("nll").mean().alias("mean"),
            pl.col("nll").std(ddof=0).alias("sd"),
            pl.len().cast(pl.Int64).alias("n"),
        )
    )
    arm = {
        name: stats.filter(pl.col("persona") == name).select(
            "experiment",
            pl.col("mean").alias(f"mean_{name}"),
            pl.col("sd").alias(f"sd_{name}"),
            pl.col("n").alias(f"n_{name}"),
        )
        for name in ARMS
    }
    table = arm["none"].join(arm["own"], on="experiment", how="inner").sort("experiment")
    pooled = ((pl.col("sd_none") ** 2 + pl.col("sd_own") ** 2) / 2).sqrt()
    return table.with_columns(
        ((pl.col("mean_none") - pl.col("mean_own")) / pooled).alias("d")
    ).select(PAPER_D_COLUMNS)


def experiments_without_own(scores: pd.DataFrame | pl.DataFrame) -> list[str]:
    """The experiments with ``none`` rows but no ``own`` rows: no d is defined for them.

    >>> experiments_without_own(pl.DataFrame({"experiment": ["a", "a", "b"],
    ...     "participant": ["1", "1", "1"], "persona": ["none", "own", "none"],
    ...     "nll": [1.0, 1.0, 1.0]}))
    ['b']
    """
    frame = to_polars(scores, ["experiment", "persona"], Source("scores")).with_columns(
        pl.col("experiment").cast(pl.String)
    )
    arms = frame.group_by("experiment").agg(pl.col("persona").unique())
    missing = arms.filter(
        pl.col("persona").list.contains("none") & ~pl.col("persona").list.contains("own")
    )
    return sorted(missing["experiment"].to_list())


def within_band(mean_d: float, band: float = PAPER_BAND) -> bool:
    """The paper's criterion for one model: its mean d over experiments within ``band``
    of zero.

    >>> within_band(0.022), within_band(-0.128)
    (True, False)
    """
    return abs(mean_d) <= band


def _validated(scores: pd.DataFrame | pl.DataFrame, source: Source) -> pl.DataFrame:
    frame = to_polars(scores, COLUMNS, source)
    for name in COLUMNS:
        bad = first_bad_row(frame[name].is_null().to_numpy())
        if bad is not None:
            raise source.error(
                "missing value", row=bad, participant=frame["participant"][bad], column=name
            )
    nll = frame["nll"].cast(pl.Float64, strict=False)
    bad = first_bad_row(~np.isfinite(nll.fill_null(np.nan).to_numpy()))
    if bad is not None:
        raise source.error(
            f"nll {frame['nll'][bad]!r} is not a finite number",
            row=bad,
            participant=frame["participant"][bad],
            column="nll",
        )
    return frame.with_columns(
        nll,
        pl.col("experiment").cast(pl.String),
        pl.col("persona").cast(pl.String),
    )
