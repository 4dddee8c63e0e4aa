"""Errors a user can act on: each names where the problem is.

The command line turns a :class:`StudyInputError` into exit status 2 and one readable
message; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class StudyError(Exception):
    """Base class for errors the package raises on purpose."""


class StudyInputError(StudyError):
    """Bad input: names the file, line, participant and field when they are known.

    >>> str(StudyInputError("unbalanced '<<'", file="p.jsonl", line=3, participant="7",
    ...                     field="text"))
    "p.jsonl:3: participant '7', field 'text': unbalanced '<<'"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        participant: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.participant = participant
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        who = []
        if self.participant is not None:
            who.append(f"participant {self.participant!r}")
        if self.field is not None:
            who.append(f"field {self.field!r}")
        if who:
            where.append(", ".join(who))
        return ": ".join([*where, self.message])


class ConfigError(StudyError):
    """A configuration value that is missing, unknown or of the wrong type."""


class DiagnosticsFailedError(StudyError):
    """A posterior failed its convergence diagnostics; results are marked failed."""
