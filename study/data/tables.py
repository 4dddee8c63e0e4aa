"""The two tables of the data stage: ``participants`` and ``choices``.

``participants``: one row per person: ``experiment``, ``participant``,
``experiment_field`` (the record's raw ``experiment`` string), ``source``, ``line``,
``n_choices``, ``transcript_chars``, then one column per profile field (Float64 when
every value is a number, else String; null when missing).

``choices``: one row per response: ``experiment``, ``participant``, ``index``,
``response``, ``start``, ``end`` (the response's span in the transcript) and ``rt``
(null when the experiment gives none).

Choices are written in row groups as they are read, so writing a 26-million-response
corpus holds one row group in memory, never the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from study.data.reader import ParsedRecord
from study.records import ProfileValue

CHOICES_SCHEMA = pa.schema(
    [
        ("experiment", pa.string()),
        ("participant", pa.string()),
        ("index", pa.int32()),
        ("response", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("rt", pa.float64()),
    ]
)
FIXED_PARTICIPANT_COLUMNS: dict[str, pa.DataType] = {
    "experiment": pa.string(),
    "participant": pa.string(),
    "experiment_field": pa.string(),
    "source": pa.string(),
    "line": pa.int64(),
    "n_choices": pa.int64(),
    "transcript_chars": pa.int64(),
}
ROW_GROUP_ROWS = 250_000
COMPRESSION = "zstd"


class ChoiceColumns:
    """Choice rows collected column by column, handed out as Arrow record batches."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self.experiment: list[str] = []
        self.participant: list[str] = []
        self.index: list[int] = []
        self.response: list[str] = []
        self.start: list[int] = []
        self.end: list[int] = []
        self.rt: list[float | None] = []

    def __len__(self) -> int:
        return len(self.index)

    def add(self, record: ParsedRecord) -> None:
        n = len(record.responses)
        self.experiment.extend([record.experiment] * n)
        self.participant.extend([record.participant] * n)
        self.index.extend(range(n))
        self.response.extend(record.responses.texts)
        self.start.extend(record.responses.starts)
        self.end.extend(record.responses.ends)
        self.rt.extend(record.rts if record.rts is not None else [None] * n)

    def take_batch(self) -> pa.RecordBatch:
        """The rows collected so far, as one batch; the collector starts empty again."""
        batch = pa.record_batch(
            [
                self.experiment,
                self.participant,
                self.index,
                self.response,
                self.start,
                self.end,
                self.rt,
            ],
            schema=CHOICES_SCHEMA,
        )
        self._clear()
        return batch


class ParticipantColumns:
    """Participant rows; profile fields become columns in order of first appearance."""

    def __init__(self) -> None:
        self.fixed: dict[str, list[Any]] = {name: [] for name in FIXED_PARTICIPANT_COLUMNS}
        self.profiles: list[dict[str, ProfileValue]] = []
        self.profile_fields: dict[str, None] = {}

    def add(self, record: ParsedRecord) -> None:
        row = self.fixed
        row["experiment"].append(record.experiment)
        row["participant"].append(record.participant)
        row["experiment_field"].append(record.experiment_field)
        row["source"].append(record.source)
        row["line"].append(record.line)
        row["n_choices"].append(len(record.responses))
        row["transcript_chars"].append(len(record.transcript))
        self.profiles.append(record.profile)
        for key in record.profile:
            if key not in self.profile_fields:
                self.profile_fields[key] = None

    def table(self) -> pa.Table:
        columns = {
            name: pa.array(values, type=FIXED_PARTICIPANT_COLUMNS[name])
            for name, values in self.fixed.items()
        }
        for key in self.profile_fields:
            columns[key] = profile_column([p.get(key) for p in self.profiles])
        return pa.table(columns)


def profile_column(values: list[ProfileValue]) -> pa.Array:
    """Float64 when every present value is a number, else String (numbers as text).

    >>> profile_column([1.0, None]).type, profile_column([1.0, "x"]).to_pylist()
    (DataType(double), ['1.0', 'x'])
    """
    if all(v is None or isinstance(v, float) for v in values):
        return pa.array(values, type=pa.float64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def write_tables(
    records: Iterable[ParsedRecord], participants_path: Path, choices_path: Path
) -> int:
    """Write both tables as parquet, streaming the choices; returns the participant count."""
    people = ParticipantColumns()
    choices = ChoiceColumns()
    with pq.ParquetWriter(choices_path, CHOICES_SCHEMA, compression=COMPRESSION) as writer:
        for record in records:
            people.add(record)
            choices.add(record)
            if len(choices) >= ROW_GROUP_ROWS:
                writer.write_batch(choices.take_batch())
        if len(choices) or not people.profiles:
            writer.write_batch(choices.take_batch())
    pq.write_table(people.table(), participants_path, compression=COMPRESSION)
    return len(people.profiles)


def build_tables(records: Iterable[ParsedRecord]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both tables in memory (the choices of the whole input: mind its size)."""
    people = ParticipantColumns()
    choices = ChoiceColumns()
    batches = []
    for record in records:
        people.add(record)
        choices.add(record)
        if len(choices) >= ROW_GROUP_ROWS:
            batches.append(choices.take_batch())
    batches.append(choices.take_batch())
    choice_table = pa.Table.from_batches(batches, schema=CHOICES_SCHEMA)
    participants = pl.from_arrow(people.table())
    choice_frame = pl.from_arrow(choice_table)
    assert isinstance(participants, pl.DataFrame) and isinstance(choice_frame, pl.DataFrame)
    return participants, choice_frame
