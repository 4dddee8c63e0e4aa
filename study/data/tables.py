"""The two tables of the data stage: ``participants`` and ``choices``.

``participants``: one row per session (a line of the input; most persons have one):
``experiment``, ``participant``, ``session`` (0, 1, 2, ... per participant in file
order), ``experiment_field`` (the record's raw ``experiment`` string), ``source``,
``line``, ``n_choices``, ``transcript_chars``, then one column per profile field
(Float64 when every value is a number, else String; null when missing). A person is
(``experiment``, ``participant``); a transcript adds ``session``.

``choices``: one row per response: ``experiment``, ``participant``, ``session``,
``index``, ``response``, ``start``, ``end`` (the response's span in the session's
transcript) and ``rt`` (null when the experiment gives none).

Choices are written batch by batch as they are read, so writing a 26-million-response
corpus holds one batch in memory, never the whole table.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from study.data.batches import Batch
from study.records import ProfileValue

CHOICES_SCHEMA = pa.schema(
    [
        ("experiment", pa.string()),
        ("participant", pa.string()),
        ("session", pa.int32()),
        ("index", pa.int32()),
        ("response", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("rt", pa.float64()),
    ]
)
FIXED_PARTICIPANT_COLUMNS: dict[str, type[pl.DataType]] = {
    "experiment": pl.String,
    "participant": pl.String,
    "session": pl.Int32,
    "experiment_field": pl.String,
    "source": pl.String,
    "line": pl.Int64,
    "n_choices": pl.Int64,
    "transcript_chars": pl.Int64,
}
ROW_GROUP_ROWS = 250_000
COMPRESSION = "zstd"


def choices_batch(batch: Batch) -> pa.RecordBatch:
    """The choice rows of one batch, as Arrow in :data:`CHOICES_SCHEMA`."""
    frame = batch.responses
    ids = pl.Series([f.participant for f in batch.lines], dtype=pl.String)
    sessions = pl.Series([f.session for f in batch.lines], dtype=pl.Int32)
    rts: pl.Series | pl.Expr
    if all(f.rts is None for f in batch.lines):
        rts = pl.lit(None, dtype=pl.Float64)
    else:
        # Flat, one entry per response (a list per line would make polars build a
        # Series per line).
        rts = pl.Series(
            list(
                itertools.chain.from_iterable(
                    f.rts if f.rts is not None else itertools.repeat(None, n)
                    for f, n in zip(batch.lines, batch.counts, strict=True)
                )
            ),
            dtype=pl.Float64,
        )
    table = frame.select(
        experiment=pl.lit(batch.source.experiment, dtype=pl.String),
        participant=pl.lit(ids).gather(pl.col("row")),
        session=pl.lit(sessions).gather(pl.col("row")),
        index="index",
        response="response",
        start="start",
        end="end",
        rt=rts,
    ).to_arrow()
    # Every line has at least one response (checked when reading), so never empty.
    return table.cast(CHOICES_SCHEMA).combine_chunks().to_batches()[0]


class ParticipantColumns:
    """Participant rows (one per session); profile fields become columns in order of
    first appearance."""

    def __init__(self) -> None:
        self.fixed: dict[str, list[Any]] = {name: [] for name in FIXED_PARTICIPANT_COLUMNS}
        self.profiles: list[dict[str, ProfileValue]] = []
        self.profile_fields: dict[str, None] = {}

    def add(self, batch: Batch) -> None:
        n = len(batch.lines)
        columns = self.fixed
        columns["experiment"].extend([batch.source.experiment] * n)
        columns["participant"].extend(f.participant for f in batch.lines)
        columns["session"].extend(f.session for f in batch.lines)
        columns["experiment_field"].extend(f.experiment_field for f in batch.lines)
        columns["source"].extend([batch.source.label] * n)
        columns["line"].extend(f.line for f in batch.lines)
        columns["n_choices"].extend(batch.counts)
        columns["transcript_chars"].extend(len(f.transcript) for f in batch.lines)
        for fields in batch.lines:
            self.profiles.append(fields.profile)
            for key in fields.profile:
                if key not in self.profile_fields:
                    self.profile_fields[key] = None

    def table(self) -> pa.Table:
        # Built with polars: pyarrow's own list conversion would import pandas (seconds).
        columns = [
            pl.Series(name, values, dtype=FIXED_PARTICIPANT_COLUMNS[name])
            for name, values in self.fixed.items()
        ]
        columns += [
            profile_column(key, [p.get(key) for p in self.profiles]) for key in self.profile_fields
        ]
        table = pl.DataFrame(columns).to_arrow()
        return table.cast(pa.schema([(f.name, _plain(f.type)) for f in table.schema]))


def profile_column(name: str, values: list[ProfileValue]) -> pl.Series:
    """Float64 when every present value is a number, else String (numbers as text).

    >>> profile_column("age", [1.0, None]).dtype, profile_column("x", [1.0, "x"]).to_list()
    (Float64, ['1.0', 'x'])
    """
    if all(v is None or isinstance(v, float) for v in values):
        return pl.Series(name, values, dtype=pl.Float64)
    return pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.String)


def _plain(kind: pa.DataType) -> pa.DataType:
    """Plain ``string`` for polars' large or view strings (one schema for all writers)."""
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    return kind


def write_tables(batches: Iterable[Batch], participants_path: Path, choices_path: Path) -> int:
    """Write both tables as parquet, the choices one batch at a time; returns the
    number of participant rows (sessions)."""
    people = ParticipantColumns()
    with pq.ParquetWriter(choices_path, CHOICES_SCHEMA, compression=COMPRESSION) as writer:
        wrote_any = False
        for batch in batches:
            people.add(batch)
            writer.write_batch(choices_batch(batch), row_group_size=ROW_GROUP_ROWS)
            wrote_any = True
        if not wrote_any:
            writer.write_table(CHOICES_SCHEMA.empty_table())
    pq.write_table(people.table(), participants_path, compression=COMPRESSION)
    return len(people.profiles)


def build_tables(batches: Iterable[Batch]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both tables in memory (the choices of the whole input: mind its size)."""
    people = ParticipantColumns()
    pieces = []
    for batch in batches:
        people.add(batch)
        pieces.append(choices_batch(batch))
    choice_table = pa.Table.from_batches(pieces, schema=CHOICES_SCHEMA)
    participants = pl.from_arrow(people.table())
    choice_frame = pl.from_arrow(choice_table)
    assert isinstance(participants, pl.DataFrame) and isinstance(choice_frame, pl.DataFrame)
    return participants, choice_frame
