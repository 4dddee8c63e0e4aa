"""Trials: the pieces an interleaved prompt alternates (STUDY.md, C4).

The boundaries come from the choice spans alone, so every experiment is cut the same
way without knowing its wording: a trial is the text from just after one response's
``>>`` to the ``>>`` that closes the next response. Trial 0 starts at the transcript's
start (it holds the instructions); whatever a transcript says between two responses
(the outcome of the earlier choice, the next stimulus) opens the later trial. The text
after the last response (a closing outcome) belongs to no trial.

Each trial keeps its response's span relative to the trial's own text, so a prompt that
places the trial at offset ``o`` finds the response at ``(o + start, o + end)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from study.records import Participant

Span = tuple[int, int]
CLOSE = len(">>")


@dataclass(frozen=True, slots=True)
class Trial:
    # The trial's text, ending with its response's ``>>``.
    text: str
    # The response's span inside ``text`` (``text[start:end]`` is the response).
    span: Span
    # The choice point's index in its transcript.
    choice: int

    @property
    def response(self) -> str:
        return self.text[self.span[0] : self.span[1]]

    def lstripped(self) -> Trial:
        """The trial without its leading whitespace, span shifted to match (a response
        sits inside ``<<``/``>>``, so stripping never reaches it).

        >>> Trial("\\n Go <<L>>", (7, 8), 0).lstripped()
        Trial(text='Go <<L>>', span=(5, 6), choice=0)
        """
        text = self.text.lstrip()
        shift = len(self.text) - len(text)
        return Trial(text, (self.span[0] - shift, self.span[1] - shift), self.choice)


def cut_trials(transcript: str, spans: Sequence[Span]) -> tuple[Trial, ...]:
    """The trials of a transcript whose responses sit at ``spans`` (in order, each
    between ``<<`` and ``>>``); see the module doc.

    >>> [t.text for t in cut_trials("Hi. Go <<L>> won. Go <<R>> lost.", [(9, 10), (23, 24)])]
    ['Hi. Go <<L>>', ' won. Go <<R>>']
    >>> [t.response for t in cut_trials("Hi. Go <<L>> won. Go <<R>> lost.", [(9, 10), (23, 24)])]
    ['L', 'R']
    """
    trials = []
    begin = 0
    for index, (start, end) in enumerate(spans):
        stop = end + CLOSE
        trials.append(Trial(transcript[begin:stop], (start - begin, end - begin), index))
        begin = stop
    return tuple(trials)


def trials(participant: Participant) -> tuple[Trial, ...]:
    """The trials of ``participant``'s transcript, one per choice point, in order."""
    return cut_trials(participant.transcript, [(c.start, c.end) for c in participant.choices])


def after_last(transcript: str, spans: Sequence[Span]) -> str:
    """The text after the last response's ``>>``, which no trial holds (the whole
    transcript when there is no response).

    >>> after_last("Go <<L>> lost.", [(5, 6)])
    ' lost.'
    """
    return transcript[spans[-1][1] + CLOSE :] if spans else transcript
