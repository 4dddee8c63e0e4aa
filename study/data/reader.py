"""Stream validated Psych-201 records, one line at a time.

Nothing here reads a whole file: streams are read in chunks and split into lines (a
transcript may be 70,000 characters; a line is refused beyond ``max_line_bytes``), so
memory stays bounded by a chunk plus one id and one hash per session (to number
sessions and catch duplicates).

Sessions (STUDY.md, "Session"): a participant id may fill several lines of one
experiment, each its own transcript; they are numbered 0, 1, 2, ... in file order. Two
lines with the same participant id and the same text are a duplicate and an error.

A line is checked in two steps, in this order, by both ways of reading:

1. its fields (:func:`parse_fields`): JSON object, participant id, transcript present,
   RT entries, profile; then the id and text against earlier lines (session number,
   duplicates);
2. its transcript's markers (:func:`read_responses`): pairs, at least one response,
   none empty, as many RTs as responses.

:func:`iter_records` runs both per line; :mod:`study.data.batches` runs step 2 on many
lines at once and falls back to :func:`read_responses` to word the first error, so
both report the same error for the same input.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec

from study.data.sources import Source, ZipLimits, discover
from study.data.transcript import MarkerError, Responses, find_responses
from study.data.values import participant_id, profile_value, reaction_times
from study.errors import StudyInputError
from study.records import ProfileValue

TEXT = "text"
EXPERIMENT = "experiment"
PARTICIPANT = "participant"
RTS = "RTs"
# Record keys that are not profile fields.
STRUCTURAL_KEYS = frozenset({TEXT, EXPERIMENT, PARTICIPANT, RTS})
SESSION = "session"
# A record's own `session` field is kept under this name: `session` is the table's
# session number (file order), whatever the record says.
SESSION_FIELD = "session_field"
# Columns the participants table uses for itself; a profile field may not take them.
RESERVED_COLUMNS = frozenset(
    {"experiment_field", "source", "line", "n_choices", "transcript_chars", SESSION_FIELD}
)
DEFAULT_MAX_LINE_BYTES = 64 << 20
# Decodes a line five times faster than the json module; same objects for valid JSON.
_FAST_JSON = msgspec.json.Decoder()
CHUNK_BYTES = 1 << 20


class Quirks:
    """What the loader noticed about each experiment's raw format (for data cards)."""

    def __init__(self) -> None:
        self.by_experiment: dict[str, set[str]] = {}
        # (experiment, field, kind) already noted: spares formatting the same note again.
        self.seen: set[tuple[str, str, str]] = set()

    def note(self, experiment: str, quirk: str) -> None:
        self.by_experiment.setdefault(experiment, set()).add(quirk)

    def of(self, experiment: str) -> list[str]:
        return sorted(self.by_experiment.get(experiment, ()))


# Called with the number of bytes read so far in the current stream (progress bars).
ProgressCallback = Callable[[Source, int], None]


@dataclass
class ReadOptions:
    """How to read: zip guards, the longest line, and optional observers."""

    zip_limits: ZipLimits = field(default_factory=ZipLimits)
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    quirks: Quirks | None = None
    progress: ProgressCallback | None = None


@dataclass(slots=True)
class Fields:
    """One line's checked fields, before its transcript's markers are read."""

    participant: str
    experiment_field: str
    transcript: str
    profile: dict[str, ProfileValue]
    rts: list[float | None] | None
    line: int
    # The participant's session this line is (0 for their first line in the experiment);
    # set by :func:`iter_fields`, which sees the lines before it.
    session: int = 0


@dataclass(slots=True)
class ParsedRecord:
    """One session line, fully validated: the raw material of a Participant."""

    experiment: str
    participant: str
    experiment_field: str
    transcript: str
    profile: dict[str, ProfileValue]
    responses: Responses
    rts: list[float | None] | None
    source: str
    line: int
    session: int = 0


def iter_records(
    path: str | Path, limit: int | None = None, options: ReadOptions | None = None
) -> Iterator[ParsedRecord]:
    """Validated records of every experiment under ``path``, in file then line order.

    ``limit`` keeps the first N participants of each experiment, with all their
    sessions. Raises
    :class:`StudyInputError` at the first bad line, naming file, line, participant and
    field.
    """
    for source, fields in iter_fields(path, limit, options):
        yield ParsedRecord(
            experiment=source.experiment,
            participant=fields.participant,
            experiment_field=fields.experiment_field,
            transcript=fields.transcript,
            profile=fields.profile,
            responses=read_responses(fields, source),
            rts=fields.rts,
            source=source.label,
            line=fields.line,
            session=fields.session,
        )


def iter_fields(
    path: str | Path, limit: int | None = None, options: ReadOptions | None = None
) -> Iterator[tuple[Source, Fields]]:
    """Step 1 for every line under ``path`` (see the module docstring), with session
    numbers, the duplicate check and the per-experiment ``limit``.

    ``limit`` counts participants (persons), not lines: once an experiment has N, the
    rest of its lines are only peeked at for their id, since a later line may be
    another session of one of those N.
    """
    options = options or ReadOptions()
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    sessions: dict[str, dict[str, list[_Session]]] = {}
    for source in discover(path, options.zip_limits):
        people = sessions.setdefault(source.experiment, {})
        found = False
        for line_no, raw in _content_lines(source, options):
            found = True
            if limit is not None and len(people) >= limit:
                peeked = _peek_participant(raw)
                if peeked is not None and peeked not in people:
                    continue
            fields = parse_fields(raw, source, line_no, options.quirks)
            earlier = people.get(fields.participant)
            if earlier is None:
                if limit is not None and len(people) >= limit:
                    continue
                earlier = people[fields.participant] = []
            text_hash = hash(fields.transcript)
            for first in earlier:
                if first.text_hash == text_hash:
                    raise StudyInputError(
                        "duplicate session: same participant and same text as "
                        f"{first.source}:{first.line}",
                        file=source.label,
                        line=fields.line,
                        participant=fields.participant,
                        field=TEXT,
                    )
            fields.session = len(earlier)
            earlier.append(_Session(source.label, fields.line, text_hash))
            yield source, fields
        if not found:
            raise StudyInputError("holds no participants (no non-empty lines)", file=source.label)


@dataclass(frozen=True, slots=True)
class _Session:
    """Where a session was read, and its text's hash (Python's 64-bit string hash: two
    different transcripts of one participant collide with odds of about 2**-64)."""

    source: str
    line: int
    text_hash: int


class _IdOnly(msgspec.Struct):
    participant: Any = None


# Reads only a line's participant id: the other fields are scanned, not built.
_PEEK_ID = msgspec.json.Decoder(_IdOnly)


def _peek_participant(raw: bytes) -> str | None:
    """The line's participant id, or None when a quick read cannot tell (the full
    parse then decides, and words any error)."""
    try:
        return participant_id(_PEEK_ID.decode(raw).participant)
    except msgspec.MsgspecError:
        return None


def _content_lines(source: Source, options: ReadOptions) -> Iterator[tuple[int, bytes]]:
    """The non-blank numbered lines of one source."""
    quirks, progress = options.quirks, options.progress
    if quirks is not None and source.skipped:
        quirks.note(
            source.experiment,
            "zip holds hidden or macOS resource-fork entries, skipped: "
            + ", ".join(source.skipped),
        )
    with source.open() as stream:
        for line_no, raw in _lines(stream, source, options.max_line_bytes, progress):
            if not raw or raw.isspace():  # (isspace stops at the first letter; strip copies)
                continue
            yield line_no, raw


def _lines(
    stream: IO[bytes],
    source: Source,
    max_line_bytes: int,
    progress: ProgressCallback | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Numbered lines (without the newline), read in chunks and split in C."""
    line_no = 0
    tail = b""
    read = 0
    while True:
        try:
            chunk = stream.read(CHUNK_BYTES)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as err:
            raise StudyInputError(
                f"archive is corrupt ({err})", file=source.label, line=line_no + 1
            ) from None
        if not chunk:
            break
        read += len(chunk)
        if progress is not None:
            progress(source, read)
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for raw in lines:
            line_no += 1
            if len(raw) > max_line_bytes:
                _too_long(source, line_no, max_line_bytes)
            yield line_no, raw
        if len(tail) > max_line_bytes:
            _too_long(source, line_no + 1, max_line_bytes)
    if tail:
        yield line_no + 1, tail


def _too_long(source: Source, line: int, max_line_bytes: int) -> None:
    raise StudyInputError(
        f"line is longer than {max_line_bytes} bytes; raise data.max_line_mb if this is real",
        file=source.label,
        line=line,
    )


def parse_fields(raw: bytes, source: Source, line: int, quirks: Quirks | None = None) -> Fields:
    """Step 1 for one jsonl line: decode, then check and type its fields."""
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
        raw = text.encode("utf-8")
    try:
        obj = _FAST_JSON.decode(raw)
    except msgspec.MsgspecError:
        # The standard library reads what msgspec refuses (NaN, 1e400, lone surrogates)
        # and words the errors people know.
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise StudyInputError(
                f"not valid JSON ({err.msg} at column {err.colno})", file=label, line=line
            ) from None
    if not isinstance(obj, dict):
        raise StudyInputError("a line must be a JSON object", file=label, line=line)
    return fields_of(obj, source, line, quirks)


def fields_of(
    obj: dict[str, Any], source: Source, line: int, quirks: Quirks | None = None
) -> Fields:
    """Check and type one decoded record's id, transcript, RTs and profile."""
    label = source.label
    raw_id = obj.get(PARTICIPANT)
    who = participant_id(raw_id)
    if who is None:
        raise StudyInputError(
            "missing or empty participant id", file=label, line=line, field=PARTICIPANT
        )

    def fail(message: str, field: str) -> StudyInputError:
        return StudyInputError(message, file=label, line=line, participant=who, field=field)

    transcript = obj.get(TEXT)
    if type(transcript) is not str:
        raise fail("missing transcript (a string is required)", TEXT)
    if not transcript or transcript.isspace():
        raise fail("empty transcript", TEXT)
    rts = _reaction_times(obj[RTS], fail, quirks, source.experiment) if RTS in obj else None
    if not RESERVED_COLUMNS.isdisjoint(obj):
        key = next(k for k in obj if k in RESERVED_COLUMNS)
        raise fail(f"profile field {key!r} clashes with a table column; rename it", key)
    # This loop runs for every field of every line: kept lean on purpose.
    profile: dict[str, ProfileValue] = {}
    for key, raw_value in obj.items():
        if key in STRUCTURAL_KEYS:
            continue
        value = profile_value(raw_value)
        profile[key] = value
        if quirks is not None and type(raw_value) is not type(value):
            _note_value_quirk(quirks, source.experiment, key, raw_value, value)
    if SESSION in profile:
        profile[SESSION_FIELD] = profile.pop(SESSION)
        if quirks is not None:
            quirks.note(
                source.experiment,
                f"records have a {SESSION!r} field, kept as {SESSION_FIELD!r} (the "
                f"{SESSION!r} column numbers each participant's lines in file order)",
            )
    if quirks is not None and not isinstance(raw_id, str):
        quirks.note(source.experiment, "participant ids stored as numbers")
    raw_experiment = obj.get(EXPERIMENT)
    return Fields(
        participant=who,
        experiment_field="" if raw_experiment is None else str(raw_experiment),
        transcript=transcript,
        profile=profile,
        rts=rts,
        line=line,
    )


def read_responses(fields: Fields, source: Source) -> Responses:
    """Step 2 for one line: the transcript's responses, or the error that says why not."""

    def fail(message: str, field: str) -> StudyInputError:
        return StudyInputError(
            message,
            file=source.label,
            line=fields.line,
            participant=fields.participant,
            field=field,
        )

    transcript = fields.transcript
    try:
        responses = find_responses(transcript)
    except MarkerError as err:
        raise fail(f"{err} ({_excerpt(transcript, err.offset)})", TEXT) from None
    if not responses.texts:
        raise fail("transcript has no responses (nothing wrapped in '<<' and '>>')", TEXT)
    if "" in responses.texts:
        k = responses.texts.index("")
        raise fail(f"response {k} at offset {responses.starts[k] - 2} is empty", TEXT)
    if fields.rts is not None and len(fields.rts) != len(responses):
        raise fail(
            f"RTs has {len(fields.rts)} entries but the transcript has {len(responses)} responses",
            RTS,
        )
    return responses


def _reaction_times(
    raw: Any,
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
    try:
        rts = reaction_times(raw)
    except ValueError as err:
        raise fail(f"RTs {err}", RTS) from None
    if quirks is not None and raw and isinstance(raw[0], str):
        quirks.note(experiment, "RTs stored as strings")
    return rts


def _note_value_quirk(
    quirks: Quirks, experiment: str, key: str, raw: Any, value: ProfileValue
) -> None:
    if type(raw) is str:
        if value is None and raw:
            quirks.note(experiment, f"field {key!r}: missing values written as text ({raw!r})")
        elif type(value) is float and (experiment, key, "number") not in quirks.seen:
            quirks.seen.add((experiment, key, "number"))
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
