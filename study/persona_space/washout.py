"""Behavioural washout, with no activations: does a persona's effect on the NLL fade as
the transcript grows?

Input: score-mode long rows ``[experiment, participant, persona, index, nll]`` (and
``session`` when the data has one), ``index`` the choice index from 0. For each choice
point scored under persona ``q`` and under ``none``, ``y = |NLL_q - NLL_none|`` and ``x
= log(k + 1)`` (the position counted from 1). The slope per condition comes from
:mod:`study.persona_space.slopes` (person, condition and person x condition effects); a
negative slope is a persona effect that washes out, 0 one that persists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from study.hosting.rows import person_rows
from study.persona_space.records import person_key
from study.persona_space.slopes import SlopeResult, fit_slopes
from study.variance.design import Source

NONE = "none"


def washout_rows(rows: pd.DataFrame | pl.DataFrame, source: str = "data frame") -> pl.DataFrame:
    """Rows ``[person, condition, x, y]`` (module docstring) from score-mode rows; a
    choice point without a ``none`` row is left out."""
    where = Source(source)
    frame = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows)
    if "participant" not in frame.columns:
        raise where.error(
            f"column 'participant' not found; the data has {', '.join(frame.columns)}",
            column="participant",
        )
    # The C4 row checks name the person column `person`.
    renamed = frame.rename({"participant": "person"})
    session = ["session"] if "session" in rows.columns else []
    frame = person_rows(renamed, ["nll"], where, keys=["persona", "index", *session])
    frame = frame.with_columns(pl.col("index").cast(pl.Float64).alias("position"))
    bad = frame.filter(
        (pl.col("position") < 0) | (pl.col("position") != pl.col("position").round())
    )
    if bad.height:
        raise where.error(
            f"index {bad['index'][0]!r} is not a choice index (an integer from 0)",
            participant=bad["person"][0],
            column="index",
        )
    point = ["experiment", "person", "index", *session]
    duplicate = frame.select([*point, "persona"]).is_duplicated()
    if duplicate.any():
        first = frame.filter(duplicate).row(0, named=True)
        raise where.error(
            f"two rows for persona {first['persona']!r} at index {first['index']}",
            participant=first["person"],
            column="persona",
        )
    none = frame.filter(pl.col("persona") == NONE).select(*point, pl.col("nll").alias("nll_none"))
    if not none.height:
        raise where.error("no rows under persona 'none' to compare with", column="persona")
    paired = frame.filter(pl.col("persona") != NONE).join(none, on=point, how="inner")
    if not paired.height:
        raise where.error("no choice point is scored under both 'none' and a persona")
    return paired.select(
        person_key(pl.col("experiment"), pl.col("person")).alias("person"),
        pl.col("persona").alias("condition"),
        (pl.col("position") + 1.0).log().alias("x"),
        (pl.col("nll") - pl.col("nll_none")).abs().alias("y"),
    )


def washout(
    rows: pd.DataFrame | pl.DataFrame,
    *,
    model: str = "model",
    prob: float = 0.94,
    source: str = "data frame",
    **sampling: object,
) -> SlopeResult:
    """The washout table (model, condition, slope, lower, upper, diagnostics, ...) for
    score-mode ``rows``; ``sampling`` goes to :func:`~study.persona_space.slopes.fit_slopes`."""
    paired = washout_rows(rows, source)
    if np.unique(paired["x"].to_numpy()).size < 2:
        raise Source(source).error("every choice point has the same index: no slope to fit")
    return fit_slopes(paired, model_name=model, prob=prob, what="washout fit", **sampling)  # type: ignore[arg-type]
