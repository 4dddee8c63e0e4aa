"""Shorter participants: the first N choice points, for quick runs and long transcripts."""

from __future__ import annotations

from dataclasses import replace

from study.records import Participant


def first_choices(person: Participant, n: int) -> Participant:
    """The session as if it had ended after its ``n``-th response.

    The transcript is cut at the end of the line holding that response, so the trial's
    feedback (``... and received a food reward.``) stays with it. Each session of a
    person is cut on its own (its choice points are numbered from 0), and keeps its
    session number.

    >>> p = Participant("e", "1", "Pick <<A>> ok.\\nPick <<B>> no.\\nPick <<A>>.\\n", session=2)
    >>> from study.records import ChoicePoint
    >>> cps = tuple(ChoicePoint("e", "1", i, r, s, s + 1) for i, (r, s) in
    ...             enumerate([("A", 7), ("B", 22), ("A", 37)]))
    >>> short = first_choices(replace(p, choices=cps, rts=(1.0, 2.0, 3.0)), 2)
    >>> short.transcript, short.session
    ('Pick <<A>> ok.\\nPick <<B>> no.\\n', 2)
    >>> [c.response for c in short.choices], short.rts
    (['A', 'B'], (1.0, 2.0))
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if len(person.choices) <= n:
        return person
    last = person.choices[n - 1]
    line_end = person.transcript.find("\n", last.end)
    cut = len(person.transcript) if line_end == -1 else line_end + 1
    rts = person.rts[:n] if person.rts is not None else None
    return replace(person, transcript=person.transcript[:cut], choices=person.choices[:n], rts=rts)
