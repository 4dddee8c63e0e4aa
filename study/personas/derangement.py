"""The `other` condition's donors: a seeded derangement within each experiment.

Participants of an experiment are put in a ring ordered by a seeded hash of their id,
and each receives the profile of the next one in the ring. That is a permutation with
no fixed point (for two or more participants): every profile is used exactly once, so
the `other` preambles have the same distribution as the `own` ones, and nobody reads
their own. The ring does not depend on the input order, and adding a participant moves
only its neighbours' donors.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from study.errors import StudyInputError
from study.records import Participant


def _ring_position(seed: int, participant: Participant) -> str:
    return hashlib.sha256(
        f"{seed}\x1f{participant.experiment}\x1f{participant.participant}".encode()
    ).hexdigest()


def assign_donors(
    participants: Iterable[Participant], seed: int
) -> dict[tuple[str, str], Participant]:
    """Map each participant's key to the participant whose profile they get as `other`.

    >>> from study.records import Participant
    >>> people = [Participant("e", str(i), "") for i in range(5)]
    >>> donors = assign_donors(people, seed=0)
    >>> any(donors[p.key].key == p.key for p in people)
    False
    >>> sorted(d.participant for d in donors.values())
    ['0', '1', '2', '3', '4']
    """
    by_experiment: dict[str, list[Participant]] = defaultdict(list)
    for person in participants:
        by_experiment[person.experiment].append(person)
    donors: dict[tuple[str, str], Participant] = {}
    for experiment, people in by_experiment.items():
        if len(people) < 2:
            only = people[0]
            raise StudyInputError(
                f"persona 'other' needs at least two participants in experiment "
                f"{experiment!r}, found one",
                file=only.source or None,
                line=only.line or None,
                participant=only.participant,
                field="experiment",
            )
        ring = sorted(people, key=lambda p: _ring_position(seed, p))
        for position, person in enumerate(ring):
            donors[person.key] = ring[(position + 1) % len(ring)]
    return donors
