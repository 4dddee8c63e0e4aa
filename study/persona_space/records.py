"""The input of C6's statistics: residual-stream states at choice points, with their keys.

An :class:`ActivationSet` holds one row per (experiment, participant, session, condition,
choice index) and, for each row, the state at every recorded layer at the token before
that choice's ``<<``: ``values[row, layer, :]``. The keys are a polars frame with columns
``experiment``, ``participant``, ``condition``, ``index`` (the choice index, from 0 as in
:class:`study.records.ChoicePoint`) and optionally ``session``. A person is always the
pair (experiment, participant): participant ids repeat across experiments.

Bad input raises :class:`~study.errors.StudyInputError` naming the row (from 1), the
participant and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

from study.variance.design import Source, first_bad_row, to_polars

EXPERIMENT, PARTICIPANT, CONDITION, INDEX, SESSION = (
    "experiment",
    "participant",
    "condition",
    "index",
    "session",
)
PERSON = "person"  # derived: experiment and participant, joined (never the bare id)


@dataclass(frozen=True)
class ActivationSet:
    """Validated activations: ``keys`` (polars: experiment, participant, session,
    condition as text, index as Int64, person as text), ``values`` (``[n_rows,
    n_layers, hidden]``, float16 or float32, untouched), ``layers`` (the model's layer
    number of each slice of axis 1) and ``model`` (a name for the tables)."""

    keys: pl.DataFrame
    values: np.ndarray
    layers: tuple[int, ...]
    model: str

    @property
    def hidden(self) -> int:
        return int(self.values.shape[2])

    def layer(self, layer: int) -> np.ndarray:
        """The states at model layer ``layer`` as float64, ``[n_rows, hidden]``."""
        if layer not in self.layers:
            raise ValueError(f"layer {layer} was not recorded; the set has {list(self.layers)}")
        return np.asarray(self.values[:, self.layers.index(layer), :], dtype=np.float64)

    def middle_layer(self) -> int:
        """The recorded layer nearest the middle of the recorded range (lower on a tie)."""
        middle = (min(self.layers) + max(self.layers)) / 2.0
        return min(self.layers, key=lambda layer: (abs(layer - middle), layer))


def person_key(experiment: pl.Expr, participant: pl.Expr) -> pl.Expr:
    """The person's text key: experiment and participant joined by a character that
    neither contains in practice (a unit separator), so ids that repeat across
    experiments stay apart."""
    return pl.concat_str([experiment, participant], separator="\x1f")


def activation_set(
    keys: pd.DataFrame | pl.DataFrame,
    values: np.ndarray,
    *,
    layers: Sequence[int] | None = None,
    model: str = "model",
    source: str = "data frame",
) -> ActivationSet:
    """Check ``keys`` against ``values`` and build an :class:`ActivationSet`. ``layers``
    defaults to 0 .. n_layers - 1; ``source`` names the keys in error messages.

    >>> keys = pd.DataFrame({"experiment": ["e"], "participant": [7],
    ...                      "condition": ["none"], "index": [0]})
    >>> activation_set(keys, np.zeros((1, 2, 4), dtype=np.float16)).keys.row(0)
    ('e', '7', '0', 'none', 0, 'e\\x1f7')
    >>> activation_set(keys.assign(index=-1), np.zeros((1, 2, 4)),
    ...                source="acts.parquet")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    study.errors.StudyInputError: acts.parquet:1: participant '7', field 'index': index -1 is not...
    """
    where = Source(source)
    values = np.asarray(values)
    if values.ndim != 3:
        raise where.error(f"activations must have shape [rows, layers, hidden]; got {values.shape}")
    if values.dtype not in (np.float16, np.float32, np.float64):
        raise where.error(f"activations must be floating point; got {values.dtype}")
    columns = [EXPERIMENT, PARTICIPANT, CONDITION, INDEX]
    has_session = SESSION in keys.columns
    frame = to_polars(keys, [*columns, SESSION] if has_session else columns, where)
    if frame.height != values.shape[0]:
        raise where.error(
            f"{frame.height} key rows but {values.shape[0]} activation rows", column=INDEX
        )
    for name in frame.columns:
        bad = first_bad_row(frame[name].is_null().to_numpy())
        if bad is not None:
            raise where.error(
                "missing value", row=bad, participant=frame[PARTICIPANT][bad], column=name
            )
    text = [EXPERIMENT, PARTICIPANT, CONDITION] + ([SESSION] if has_session else [])
    frame = frame.with_columns(pl.col(text).cast(pl.String))
    if not has_session:
        frame = frame.with_columns(pl.lit("0").alias(SESSION))
    index = frame[INDEX].cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()
    bad = first_bad_row(~np.isfinite(index) | (index < 0) | (index != np.round(index)))
    if bad is not None:
        raise where.error(
            f"index {frame[INDEX][bad]!r} is not a choice index (an integer from 0)",
            row=bad,
            participant=frame[PARTICIPANT][bad],
            column=INDEX,
        )
    frame = frame.with_columns(pl.Series(INDEX, index.astype(np.int64))).select(
        EXPERIMENT, PARTICIPANT, SESSION, CONDITION, INDEX
    )
    # The first row whose keys an earlier row already had.
    bad = first_bad_row(
        ~frame.select(pl.struct(pl.all()).is_first_distinct()).to_series().to_numpy()
    )
    if bad is not None:
        raise where.error(
            f"a second row for condition {frame[CONDITION][bad]!r}, session "
            f"{frame[SESSION][bad]!r}, index {frame[INDEX][bad]}",
            row=bad,
            participant=frame[PARTICIPANT][bad],
            column=INDEX,
        )
    bad_value = ~np.isfinite(values).all(axis=(1, 2))
    bad = first_bad_row(bad_value)
    if bad is not None:
        raise where.error(
            "activations hold a value that is not finite",
            row=bad,
            participant=frame[PARTICIPANT][bad],
            column="activations",
        )
    layer_ids = tuple(range(values.shape[1])) if layers is None else tuple(int(x) for x in layers)
    if len(layer_ids) != values.shape[1] or len(set(layer_ids)) != len(layer_ids):
        raise where.error(
            f"layers {list(layer_ids)} must name each of the {values.shape[1]} recorded layers once"
        )
    frame = frame.with_columns(person_key(pl.col(EXPERIMENT), pl.col(PARTICIPANT)).alias(PERSON))
    return ActivationSet(keys=frame, values=values, layers=layer_ids, model=model)
