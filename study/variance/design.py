"""From a user's data frame to cells: the unique level combinations the model sees.

Rows that share every factor level are replicates of one cell (the runs). Each family
summarises a cell's replicates by sufficient statistics (binomial counts, Gaussian mean
and sum of squares, category counts), so the likelihood's cost grows with the number of
cells, never with the number of runs.

Bad input raises :class:`~study.errors.StudyInputError` naming the file (or "data frame"),
the line (CSV: the header is line 1; a frame: rows count from 1), the participant (the
value of the first factor column on that row) and the field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from pyarrow import ArrowException

from study.errors import StudyInputError
from study.variance.spec import ModelSpec


@dataclass(frozen=True)
class Source:
    """Where rows came from, for error messages: row ``i`` (0-based) is line ``i + first_line``."""

    name: str = "data frame"
    first_line: int = 1

    def error(
        self, message: str, *, row: int | None = None, participant: Any = None, column: str = ""
    ) -> StudyInputError:
        return StudyInputError(
            message,
            file=self.name,
            line=None if row is None else row + self.first_line,
            participant=None if participant is None else str(participant),
            field=column or None,
        )


@dataclass
class Cells:
    """The data as the model sees it: one entry per unique combination of factor levels.

    ``level_index[name][i]`` is the level (0-based, into ``level_labels[name]``) of
    component ``name`` in cell ``i``; ``stats`` holds the family's sufficient statistics
    per cell (and the ordered family's per-design ``scores``); ``replicates[i]`` is how
    many rows (runs) cell ``i`` pooled; ``cell_columns[column][i]`` is the level of factor
    column ``column`` in cell ``i``, as text.
    """

    n_rows: int
    level_index: dict[str, np.ndarray]
    level_labels: dict[str, list[str]]
    replicates: np.ndarray
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    # Per-factor-column level counts, for the D-study's defaults.
    column_levels: dict[str, int] = field(default_factory=dict)
    cell_columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        return int(self.replicates.size)


def to_polars(
    data: pd.DataFrame | pl.DataFrame, columns: list[str], source: Source
) -> pl.DataFrame:
    """Select ``columns`` from a pandas or polars frame as polars; missing ones are errors."""
    names = list(data.columns)
    for column in columns:
        if column not in names:
            raise source.error(
                f"column {column!r} not found; the data has {', '.join(map(str, names))}",
                column=column,
            )
    if isinstance(data, pd.DataFrame):
        subset = data[columns].reset_index(drop=True)
        try:
            data = pl.from_pandas(subset)
        except (ValueError, TypeError, ArrowException):
            # Mixed types in an object column (numbers and text): read them as text, so
            # that the family's check names the offending row.
            data = pl.from_pandas(subset.apply(_as_text_if_mixed))
    elif isinstance(data, pl.DataFrame):
        data = data.select(columns)
    else:
        raise TypeError(f"expected a pandas or polars DataFrame, got {type(data).__name__}")
    return data


def _as_text_if_mixed(column: pd.Series) -> pd.Series:
    if column.dtype != object:
        return column
    return column.map(lambda v: None if v is None or v != v else str(v))


def first_bad_row(mask: np.ndarray) -> int | None:
    """Index of the first True in ``mask``, or None."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def outcome_values(frame: pl.DataFrame, column: str, who: str, source: Source) -> np.ndarray:
    """The outcome ``column`` as an array; a missing value is an error naming its row and
    participant (the value of column ``who`` on that row)."""
    series = frame[column]
    bad = first_bad_row(series.is_null().to_numpy())
    if bad is not None:
        raise source.error("missing outcome", row=bad, participant=frame[who][bad], column=column)
    return series.to_numpy()


def numeric_outcome(frame: pl.DataFrame, column: str, who: str, source: Source) -> np.ndarray:
    """The outcome ``column`` as finite float64 numbers; the first value that is missing,
    not a number or not finite is an error naming its row and participant."""
    values = outcome_values(frame, column, who, source)
    try:
        numbers = values.astype(np.float64)
    except (TypeError, ValueError):
        for row, value in enumerate(values):
            try:
                float(value)
            except (TypeError, ValueError):
                raise source.error(
                    f"outcome {value!r} is not a number",
                    row=row,
                    participant=frame[who][row],
                    column=column,
                ) from None
        raise
    bad = first_bad_row(~np.isfinite(numbers))
    if bad is not None:
        raise source.error(
            f"outcome {values[bad]!r} is not finite",
            row=bad,
            participant=frame[who][bad],
            column=column,
        )
    return numbers


def encode_column(frame: pl.DataFrame, column: str, source: Source, who: str) -> tuple:
    """Level codes (sorted: numerically for numbers, else as text) and their text labels."""
    series = frame[column]
    bad = first_bad_row(series.is_null().to_numpy())
    if bad is not None:
        raise source.error(
            "missing value in a grouping column",
            row=bad,
            participant=frame[who][bad],
            column=column,
        )
    # Polars ranks a million text labels several times faster than np.unique sorts them.
    if series.dtype == pl.Boolean:
        sortable = series.cast(pl.Int8)
    elif series.dtype.is_numeric():
        sortable = series
    else:
        sortable = series.cast(pl.String)
    codes = (sortable.rank("dense") - 1).to_numpy().astype(np.int64)
    uniques = series.unique().sort() if series.dtype == pl.Boolean else sortable.unique().sort()
    return codes, [str(u) for u in uniques.to_list()]


def unique_rows(codes: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, axis=0, return_inverse=True)`` for non-negative level codes
    below ``sizes`` (one per column), through one int64 key per row when the product of
    the sizes fits: a 1-D sort instead of a lexicographic one (seconds on a million rows).

    >>> keys, inverse = unique_rows(np.array([[1, 0], [0, 2], [1, 0]]), [2, 3])
    >>> keys.tolist(), inverse.tolist()
    ([[0, 2], [1, 0]], [1, 0, 1])
    """
    if math.prod(max(n, 1) for n in sizes) >= 2**62:
        keys, inverse = np.unique(codes, axis=0, return_inverse=True)
        return keys, inverse.reshape(-1)
    strides = np.cumprod([1, *sizes[::-1]])[:-1][::-1].astype(np.int64)
    flat, inverse = np.unique(codes @ strides, return_inverse=True)
    keys = (flat[:, None] // strides[None, :]) % np.asarray(sizes, dtype=np.int64)[None, :]
    return keys, inverse.reshape(-1)


def build_cells(
    frame: pl.DataFrame,
    spec: ModelSpec,
    source: Source,
    extra_columns: Sequence[str] = (),
) -> tuple[Cells, np.ndarray]:
    """Group rows into cells; return the cells and each row's cell index.

    A cell is a combination of the levels of the factor columns and of
    ``extra_columns`` (columns without a variance component of their own: comparing
    models by LOO needs both to score the same cells). The family fills
    ``Cells.stats`` afterwards from the row-level outcome.
    """
    who = spec.columns[0]
    columns = [*spec.columns, *(c for c in extra_columns if c not in spec.columns)]
    codes: dict[str, np.ndarray] = {}
    labels: dict[str, list[str]] = {}
    for column in columns:
        codes[column], labels[column] = encode_column(frame, column, source, who)
    matrix = np.column_stack([codes[c] for c in columns])
    cell_keys, cell_of_row = unique_rows(matrix, [len(labels[c]) for c in columns])
    level_index: dict[str, np.ndarray] = {}
    level_labels: dict[str, list[str]] = {}
    for component in spec.components:
        positions = [columns.index(c) for c in component.columns]
        sub = cell_keys[:, positions]
        combos, index = unique_rows(sub, [len(labels[columns[p]]) for p in positions])
        if combos.shape[0] < 2:
            raise source.error(
                f"factor {component.name!r} has only one level; a variance needs at least two",
                column=component.columns[-1],
            )
        level_index[component.name] = index.reshape(-1).astype(np.int32)
        level_labels[component.name] = [
            ":".join(labels[c][k] for c, k in zip(component.columns, combo, strict=True))
            for combo in combos
        ]
    replicates = np.bincount(cell_of_row, minlength=cell_keys.shape[0])
    cells = Cells(
        n_rows=frame.height,
        level_index=level_index,
        level_labels=level_labels,
        replicates=replicates,
        column_levels={c: len(labels[c]) for c in spec.columns},
        cell_columns={
            c: np.asarray(labels[c], dtype=object)[cell_keys[:, k]] for k, c in enumerate(columns)
        },
    )
    return cells, cell_of_row
