"""Find the human responses in a Psych-201 transcript.

A response is the text between an opening ``<<`` and the first ``>>`` after it.
Markers are read left to right without overlap, the way ``str.count`` and ``re`` read
them, so ``<<<a>>`` is the response ``<a`` and ``<<a>>>`` is ``a`` followed by ``>``.
Anything else (a ``<<`` inside a response, a ``>>`` with no ``<<`` before it, a ``<<``
never closed) is an error that says where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN = "<<"
CLOSE = ">>"

_MARKER = re.compile(r"<<|>>")


class MarkerError(ValueError):
    """A transcript whose markers do not pair up; ``offset`` is where it goes wrong."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Responses:
    """The responses of one transcript, in order, with their character spans.

    ``texts[k] == transcript[starts[k]:ends[k]]``.
    """

    texts: list[str]
    starts: list[int]
    ends: list[int]

    def __len__(self) -> int:
        return len(self.texts)


def find_responses(transcript: str) -> Responses:
    """Every response in ``transcript``, or a :class:`MarkerError` saying where it breaks.

    >>> r = find_responses("Pick: <<A>>. Again: <<crest CAUSES take>>.")
    >>> r.texts, r.starts, r.ends
    (['A', 'crest CAUSES take'], [8, 22], [9, 39])
    >>> find_responses("You press <<left after 3 ms")
    Traceback (most recent call last):
    ...
    study.data.transcript.MarkerError: '<<' at offset 10 is never closed by '>>'
    """
    # Splitting at "<<" finds the same opening markers as a left-to-right scan (a ">>"
    # cannot straddle a "<<"). The transcript is well formed when the text before the
    # first "<<" holds no ">>" and every later piece holds exactly one.
    pieces = transcript.split(OPEN)
    texts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = len(pieces[0]) + len(OPEN)
    for piece in pieces[1:]:
        response, closed, _ = piece.partition(CLOSE)
        if not closed:
            raise _locate_marker_error(transcript)
        texts.append(response)
        starts.append(position)
        ends.append(position + len(response))
        position += len(piece) + len(OPEN)
    if transcript.count(CLOSE) != len(texts):
        raise _locate_marker_error(transcript)
    return Responses(texts, starts, ends)


def _locate_marker_error(transcript: str) -> MarkerError:
    """Walk the markers one by one to name the first one that does not pair up."""
    open_at: int | None = None
    responses_before = 0
    for marker in _MARKER.finditer(transcript):
        at = marker.start()
        if marker.group() == OPEN:
            if open_at is not None:
                return MarkerError(
                    f"nested '<<' at offset {at} inside response {responses_before} "
                    f"(opened at offset {open_at})",
                    at,
                )
            open_at = at
        else:
            if open_at is None:
                return MarkerError(f"'>>' at offset {at} has no opening '<<'", at)
            open_at = None
            responses_before += 1
    if open_at is not None:
        return MarkerError(f"'<<' at offset {open_at} is never closed by '>>'", open_at)
    # Unreachable when find_responses saw a problem; kept so callers always get an error.
    return MarkerError("markers do not pair up", 0)  # pragma: no cover
