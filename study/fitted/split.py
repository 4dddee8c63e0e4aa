"""Where a participant's choices split into the fitting part and the held-out part (C5).

``split`` is a count (an int >= 1: the first ``split`` choices) or a fraction in (0, 1)
of the participant's choices (rounded down, at least 1). Either way at least one choice
must remain held out. Choices are numbered from 0 (``ChoicePoint.index``): the fitting
part is indices ``0 .. K-1`` (STUDY.md's choices 1..K) and the held-out part indices
``K ..`` (STUDY.md's k > K). Shared by the cognitive models and the language-model side.
"""

from __future__ import annotations

import math

from study.errors import ConfigError, StudyInputError
from study.records import Participant


def check_split(split: int | float) -> None:
    """Raise :class:`ConfigError` unless ``split`` is an int >= 1 or a float in (0, 1).

    >>> check_split(0.5), check_split(3)
    (None, None)
    """
    if isinstance(split, bool) or not isinstance(split, int | float):
        raise ConfigError(
            f"split must be a count (int >= 1) or a fraction in (0, 1), got {split!r}"
        )
    if isinstance(split, int) and split < 1:
        raise ConfigError(f"split as a count must be at least 1, got {split}")
    if isinstance(split, float) and not 0.0 < split < 1.0:
        raise ConfigError(f"split as a fraction must lie strictly between 0 and 1, got {split}")


def split_index(n_choices: int, split: int | float, participant: Participant | None = None) -> int:
    """K: the number of choices to fit on, out of ``n_choices``, leaving at least one held
    out. ``participant`` only names the culprit when the choices are too few.

    >>> split_index(9, 0.5), split_index(9, 0.05), split_index(9, 8)
    (4, 1, 8)
    """
    check_split(split)
    k = split if isinstance(split, int) else max(1, math.floor(split * n_choices))
    if k >= n_choices:
        message = (
            f"{n_choices} choice(s) cannot be split at {split!r}: K = {k} leaves no held-out choice"
        )
        if participant is None:
            raise StudyInputError(message)
        raise StudyInputError(
            message,
            file=participant.source,
            line=participant.line,
            participant=participant.participant,
            field="text",
        )
    return k


def split_participant(participant: Participant, split: int | float) -> int:
    """K for ``participant``'s choices (see :func:`split_index`)."""
    return split_index(len(participant.choices), split, participant)
