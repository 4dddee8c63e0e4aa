"""The public way in: Psych-201 experiments as typed records or as tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from study.data.batches import iter_batches
from study.data.reader import ParsedRecord, iter_records
from study.data.tables import build_tables
from study.records import ChoicePoint, Participant

# The three Psych-201 experiments that ship with the project.
SHIPPED_DATA = Path(__file__).resolve().parents[2] / "data" / "psych201"


def iter_participants(path: str | Path, limit: int | None = None) -> Iterator[Participant]:
    """Stream the participants of every experiment under ``path``.

    ``path`` is a ``prompts.jsonl``, a zip of one or more, or a folder searched
    recursively for both. The experiment is named by the folder holding its prompts
    file (``data/psych201/dezfouli2019/prompts.jsonl.zip`` -> ``dezfouli2019``), else
    by the file's stem. ``limit`` keeps the first N participants of each experiment.
    Each line is one session (:class:`~study.records.Participant`): a participant with
    three lines gives three records, sessions 0, 1 and 2, and counts once in ``limit``.

    >>> people = list(iter_participants(SHIPPED_DATA, limit=2))
    >>> [(p.experiment, p.participant) for p in people][:3]
    [('busch2024_stroop', '1'), ('busch2024_stroop', '2'), ('dezfouli2019', 's_005_')]
    >>> c = people[0].choices[0]
    >>> c.response, people[0].transcript[c.start:c.end], c.rt
    ('down', 'down', 1159.0)
    """
    for record in iter_records(path, limit):
        yield to_participant(record)


def to_participant(record: ParsedRecord) -> Participant:
    """The typed :class:`~study.records.Participant` of one validated record."""
    rts = record.rts if record.rts is not None else [None] * len(record.responses)
    choices = tuple(
        ChoicePoint(record.experiment, record.participant, k, text, start, end, rt, record.session)
        for k, (text, start, end, rt) in enumerate(
            zip(
                record.responses.texts,
                record.responses.starts,
                record.responses.ends,
                rts,
                strict=True,
            )
        )
    )
    return Participant(
        experiment=record.experiment,
        participant=record.participant,
        transcript=record.transcript,
        profile=record.profile,
        choices=choices,
        rts=None if record.rts is None else tuple(record.rts),
        source=record.source,
        line=record.line,
        session=record.session,
    )


def load_tables(path: str | Path, limit: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(participants, choices)`` exactly as the data stage writes them (see
    :mod:`study.data.tables`), in memory.

    >>> participants, choices = load_tables(SHIPPED_DATA / "dezfouli2019", limit=3)
    >>> participants.select("experiment", "participant", "diagnosis").row(0)
    ('dezfouli2019', 's_005_', 'Depression')
    >>> choices.columns
    ['experiment', 'participant', 'session', 'index', 'response', 'start', 'end', 'rt']
    """
    return build_tables(iter_batches(path, limit))
