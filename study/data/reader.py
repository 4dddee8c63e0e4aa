"""Stream validated Psych-201 records, one line at a time.

Nothing here reads a whole file: each stream is read line by line (a transcript may be
70,000 characters; a line is refused beyond ``max_line_bytes``), so memory stays bounded
by the longest line plus one id per participant (to catch duplicates).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from study.data.sources import Source, ZipLimits, discover
from study.data.transcript import MarkerError, Responses, find_responses
from study.data.values import participant_id, profile_value, reaction_time
from study.errors import StudyInputError
from study.records import ProfileValue

TEXT = "text"
EXPERIMENT = "experiment"
PARTICIPANT = "participant"
RTS = "RTs"
# Record keys that are not profile fields.
STRUCTURAL_KEYS = frozenset({TEXT, EXPERIMENT, PARTICIPANT, RTS})
# Columns the participants table uses for itself; a profile field may not take them.
RESERVED_COLUMNS = frozenset(
    {"experiment_field", "source", "line", "n_choices", "transcript_chars"}
)
DEFAULT_MAX_LINE_BYTES = 64 << 20


@dataclass(slots=True)
class ParsedRecord:
    """One participant line, validated: the raw material of Participant and the tables."""

    experiment: str
    participant: str
    experiment_field: str
    transcript: str
    profile: dict[str, ProfileValue]
    responses: Responses
    rts: list[float | None] | None
    source: str
    line: int


class Quirks:
    """What the loader noticed about each experiment's raw format (for data cards)."""

    def __init__(self) -> None:
        self.by_experiment: dict[str, set[str]] = {}

    def note(self, experiment: str, quirk: str) -> None:
        self.by_experiment.setdefault(experiment, set()).add(quirk)

    def of(self, experiment: str) -> list[str]:
        return sorted(self.by_experiment.get(experiment, ()))


# Called with the number of bytes read so far in the current stream (progress bars).
ProgressCallback = Callable[[Source, int], None]


def iter_records(
    path: str | Path,
    limit: int | None = None,
    *,
    zip_limits: ZipLimits | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    quirks: Quirks | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[ParsedRecord]:
    """Validated records of every experiment under ``path``, in file then line order.

    ``limit`` keeps the first N participants of each experiment. Raises
    :class:`StudyInputError` at the first bad line, naming file, line, participant and
    field.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    seen: dict[str, dict[str, tuple[str, int]]] = {}
    for source in discover(path, zip_limits):
        first_seen = seen.setdefault(source.experiment, {})
        if limit is not None and len(first_seen) >= limit:
            continue
        found = 0
        for record in _read_source(source, max_line_bytes, quirks, progress):
            found += 1
            earlier = first_seen.get(record.participant)
            if earlier is not None:
                raise StudyInputError(
                    f"duplicate participant id (first at {earlier[0]}:{earlier[1]})",
                    file=record.source,
                    line=record.line,
                    participant=record.participant,
                    field=PARTICIPANT,
                )
            first_seen[record.participant] = (record.source, record.line)
            yield record
            if limit is not None and len(first_seen) >= limit:
                break
        if not found:
            raise StudyInputError("holds no participants (no non-empty lines)", file=source.label)


def _read_source(
    source: Source,
    max_line_bytes: int,
    quirks: Quirks | None,
    progress: ProgressCallback | None,
) -> Iterator[ParsedRecord]:
    if quirks is not None and source.skipped:
        quirks.note(
            source.experiment,
            "zip holds hidden or macOS resource-fork entries, skipped: "
            + ", ".join(source.skipped),
        )
    with source.open() as stream:
        read = 0
        for line_no, raw in _lines(stream, source, max_line_bytes):
            read += len(raw)
            if progress is not None:
                progress(source, read)
            if not raw.strip():
                continue
            yield parse_line(raw, source, line_no, quirks)


def _lines(stream: IO[bytes], source: Source, max_line_bytes: int) -> Iterator[tuple[int, bytes]]:
    line_no = 0
    while True:
        line_no += 1
        try:
            raw = stream.readline(max_line_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as err:
            raise StudyInputError(
                f"archive is corrupt ({err})", file=source.label, line=line_no
            ) from None
        if not raw:
            return
        if len(raw) > max_line_bytes:
            raise StudyInputError(
                f"line is longer than {max_line_bytes} bytes; raise data.max_line_mb "
                "if this is real",
                file=source.label,
                line=line_no,
            )
        yield line_no, raw


def parse_line(raw: bytes, source: Source, line: int, quirks: Quirks | None = None) -> ParsedRecord:
    """Validate one jsonl line and type its fields."""
    label = source.label
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        who, where = _locate_bad_bytes(raw)
        raise StudyInputError(
            f"invalid UTF-8 (byte {err.start} of the line)",
            file=label,
            line=line,
            participant=who,
            field=where,
        ) from None
    if line == 1:
        text = text.removeprefix("\ufeff")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise StudyInputError(
            f"not valid JSON ({err.msg} at column {err.colno})", file=label, line=line
        ) from None
    if not isinstance(obj, dict):
        raise StudyInputError("a line must be a JSON object", file=label, line=line)
    return parse_object(obj, source, line, quirks)


def parse_object(
    obj: dict[str, Any], source: Source, line: int, quirks: Quirks | None = None
) -> ParsedRecord:
    """Validate one decoded record: id, transcript and markers, RTs, profile."""
    label = source.label
    who = participant_id(obj.get(PARTICIPANT))
    if who is None:
        raise StudyInputError(
            "missing or empty participant id", file=label, line=line, field=PARTICIPANT
        )

    def fail(message: str, field: str) -> StudyInputError:
        return StudyInputError(message, file=label, line=line, participant=who, field=field)

    transcript = obj.get(TEXT)
    if not isinstance(transcript, str):
        raise fail("missing transcript (a string is required)", TEXT)
    if not transcript.strip():
        raise fail("empty transcript", TEXT)
    try:
        responses = find_responses(transcript)
    except MarkerError as err:
        raise fail(f"{err} ({_excerpt(transcript, err.offset)})", TEXT) from None
    if not responses.texts:
        raise fail("transcript has no responses (nothing wrapped in '<<' and '>>')", TEXT)
    if "" in responses.texts:
        k = responses.texts.index("")
        raise fail(f"response {k} at offset {responses.starts[k] - 2} is empty", TEXT)

    rts = _reaction_times(obj.get(RTS), len(responses), fail, quirks, source.experiment)

    profile: dict[str, ProfileValue] = {}
    for key, raw_value in obj.items():
        if key in STRUCTURAL_KEYS:
            continue
        if key in RESERVED_COLUMNS:
            raise fail(f"profile field {key!r} clashes with a table column; rename it", key)
        value = profile_value(raw_value)
        profile[key] = value
        if quirks is not None:
            _note_value_quirk(quirks, source.experiment, key, raw_value, value)
    if quirks is not None and not isinstance(obj.get(PARTICIPANT), str):
        quirks.note(source.experiment, "participant ids stored as numbers")

    raw_experiment = obj.get(EXPERIMENT)
    return ParsedRecord(
        experiment=source.experiment,
        participant=who,
        experiment_field="" if raw_experiment is None else str(raw_experiment),
        transcript=transcript,
        profile=profile,
        responses=responses,
        rts=rts,
        source=label,
        line=line,
    )


def _reaction_times(
    raw: Any,
    n_responses: int,
    fail: Callable[[str, str], StudyInputError],
    quirks: Quirks | None,
    experiment: str,
) -> list[float | None] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise fail("RTs must be a list of numbers", RTS) from None
    if not isinstance(raw, list):
        raise fail("RTs must be a list of numbers", RTS)
    if len(raw) != n_responses:
        raise fail(
            f"RTs has {len(raw)} entries but the transcript has {n_responses} responses", RTS
        )
    rts = []
    for k, entry in enumerate(raw):
        try:
            rts.append(reaction_time(entry))
        except ValueError as err:
            raise fail(f"RTs entry {k}: {err}", RTS) from None
    if quirks is not None and any(isinstance(entry, str) for entry in raw):
        quirks.note(experiment, "RTs stored as strings")
    return rts


def _note_value_quirk(
    quirks: Quirks, experiment: str, key: str, raw: Any, value: ProfileValue
) -> None:
    if isinstance(raw, str) and raw and value is None:
        quirks.note(experiment, f"field {key!r}: missing values written as text ({raw!r})")
    elif isinstance(raw, str) and isinstance(value, float):
        quirks.note(experiment, f"field {key!r}: numbers stored as strings")
    elif isinstance(raw, list | dict):
        quirks.note(experiment, f"field {key!r}: list or object values (kept as JSON text)")


def _excerpt(transcript: str, offset: int, width: int = 30) -> str:
    """The transcript around ``offset``, for error messages."""
    start = max(0, offset - width)
    return f"near {transcript[start : offset + width]!r}"


def _locate_bad_bytes(raw: bytes) -> tuple[str | None, str | None]:
    """Best effort: which participant and field hold the undecodable bytes."""
    try:
        obj = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return None, None
    if not isinstance(obj, dict):
        return None, None
    who = participant_id(obj.get(PARTICIPANT))
    for key, value in obj.items():
        if "\ufffd" in key or "\ufffd" in json.dumps(value, ensure_ascii=False):
            return who, key
    return who, None
