"""Typed records that flow between stages.

A transcript is a Psych-201 ``text``: prose with each human response wrapped in
``<<`` and ``>>``. Character offsets below always index that transcript string.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ProfileValue = float | str | None


@dataclass(frozen=True, slots=True)
class ChoicePoint:
    """One human response inside a transcript.

    ``start``/``end`` span the response text itself (between the markers), so
    ``transcript[start:end] == response`` and the context the model sees before
    answering is ``transcript[:start - 2]`` (everything before the ``<<``).
    """

    experiment: str
    participant: str
    index: int
    response: str
    start: int
    end: int
    rt: float | None = None
    # Which of the participant's sessions (transcripts) this choice point is in.
    session: int = 0

    @property
    def marker_start(self) -> int:
        """Offset of the opening ``<<``."""
        return self.start - 2


@dataclass(frozen=True, slots=True)
class Participant:
    """One session of a person in an experiment: transcript, typed profile and choice
    points (STUDY.md, "Session").

    A person is identified by (experiment, participant): ids repeat across experiments.
    A person may have several sessions (lines of the experiment sharing the id, each its
    own transcript), numbered 0, 1, 2, ... in file order; a transcript is identified by
    (experiment, participant, session).

    ``profile`` holds every optional field of the source record (age, gender,
    questionnaire scores, ...): numbers as floats, missing values as ``None`` and
    never the string ``"nan"``; non-numeric text stays a string.

    >>> first = Participant("e", "7", "a <<x>>")
    >>> second = Participant("e", "7", "b <<y>>", session=1)
    >>> first.person == second.person, first.key == second.key
    (True, False)
    """

    experiment: str
    participant: str
    transcript: str
    profile: dict[str, ProfileValue] = field(default_factory=dict)
    choices: tuple[ChoicePoint, ...] = ()
    rts: tuple[float | None, ...] | None = None
    source: str = ""
    line: int = 0
    session: int = 0

    @property
    def key(self) -> tuple[str, str, int]:
        """The transcript's identity: (experiment, participant, session)."""
        return (self.experiment, self.participant, self.session)

    @property
    def person(self) -> tuple[str, str]:
        """The person's identity, shared by their sessions: (experiment, participant)."""
        return (self.experiment, self.participant)
