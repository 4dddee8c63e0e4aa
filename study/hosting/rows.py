"""Validated input rows of the C4 estimators: an experiment, a person, and numbers.

Both estimators (:mod:`study.hosting.leakage`, :mod:`study.hosting.crosstalk`) read
long rows keyed by ``experiment`` and ``person`` (a person is the pair: ids repeat
across experiments). Bad input raises :class:`~study.errors.StudyInputError` naming the
line (rows count from ``Source.first_line``), the person and the column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import polars as pl

from study.variance.design import Source, first_bad_row, to_polars

EXPERIMENT, PERSON = "experiment", "person"


def person_rows(
    data: pd.DataFrame | pl.DataFrame,
    numeric: Sequence[str],
    source: Source,
    *,
    nonnegative: bool = False,
    keys: Sequence[str] = (),
) -> pl.DataFrame:
    """``experiment``, ``person`` and the further ``keys`` as text and the ``numeric``
    columns as Float64, in input order; every value present, every number finite (and,
    with ``nonnegative``, at least 0).

    >>> frame = pd.DataFrame({"experiment": ["e"], "person": [7], "x": [1]})
    >>> person_rows(frame, ["x"], Source()).row(0)
    ('e', '7', 1.0)
    >>> person_rows(frame.assign(x=-1.0), ["x"], Source("probes.parquet"), nonnegative=True)
    Traceback (most recent call last):
    study.errors.StudyInputError: probes.parquet:1: participant '7', field 'x': x -1.0 is negative
    """
    text = [EXPERIMENT, PERSON, *keys]
    frame = to_polars(data, [*text, *numeric], source)
    for name in frame.columns:
        bad = first_bad_row(frame[name].is_null().to_numpy())
        if bad is not None:
            who = frame[PERSON][bad]
            raise source.error("missing value", row=bad, participant=who, column=name)
    values = {}
    for name in numeric:
        number = frame[name].cast(pl.Float64, strict=False)
        array = number.fill_null(np.nan).to_numpy()
        bad = first_bad_row(~np.isfinite(array))
        if bad is not None:
            raise source.error(
                f"{name} {frame[name][bad]!r} is not a finite number",
                row=bad,
                participant=frame[PERSON][bad],
                column=name,
            )
        bad = first_bad_row(array < 0) if nonnegative else None
        if bad is not None:
            raise source.error(
                f"{name} {float(array[bad])} is negative",
                row=bad,
                participant=frame[PERSON][bad],
                column=name,
            )
        values[name] = number
    return frame.with_columns(*(pl.col(name).cast(pl.String) for name in text), **values)
