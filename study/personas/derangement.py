"""The `other` condition's donors: a seeded derangement over distinct preambles.

The placebo must show *someone else's* profile text; a donor whose preamble reads the
same as the participant's own (two healthy-control 23-year-olds, say) would make `other`
equal `own` and pull the person-specific benefit to zero. So, within each experiment,
only persons with a non-empty preamble take part, and nobody receives a preamble equal
to their own:

1. persons are grouped by preamble text; the groups are ordered by a seeded hash of
   their text, and the persons within a group by a seeded hash of their id, so that
   persons with the same text sit next to each other in one ring;
2. each person receives the preamble of the person ``m`` places further round the ring,
   ``m`` being the size of the largest group. When no text is shared by more than half
   the persons, that shift leaves every group and is a permutation: every preamble is
   given away exactly once, so the `other` preambles have the same distribution as the
   `own` ones. When one text is shared by more than half, no such permutation exists;
   a person whose shifted donor reads the same moves on round the ring to the next
   person with a different text (some preambles are then given more than once);
3. a person whose experiment has no other preamble text (a single person, or everybody
   alike) gets no donor, hence no `other` prompt; :attr:`Donors.undonored` lists them.

Persons are (experiment, participant): all sessions of a person share one donor, and a
person's preamble is that of their first session. The result does not depend on the
input order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from study.records import Participant

Person = tuple[str, str]


def person_of(participant: Participant) -> Person:
    """The person a row belongs to: (experiment, participant), whatever its session."""
    return (participant.experiment, participant.participant)


@dataclass(frozen=True, slots=True)
class Donors:
    # Person -> the row whose preamble they read as `other`.
    by_person: dict[Person, Participant]
    # Persons with a preamble but no donor (nobody in their experiment reads differently),
    # in experiment then participant order.
    undonored: tuple[Person, ...]

    def of(self, participant: Participant) -> Participant | None:
        """The donor of ``participant``'s person, or None when there is none."""
        return self.by_person.get(person_of(participant))


def _hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def assign_donors(
    participants: Iterable[Participant], seed: int, preamble: Callable[[Participant], str]
) -> Donors:
    """Donors for the `other` condition (see the module doc); ``preamble`` gives a row's
    preamble text.

    >>> from study.records import Participant
    >>> ages = [31.0, 31.0, 40.0, 52.0, None]
    >>> people = [Participant("e", str(i), "", profile={"age": a}) for i, a in enumerate(ages)]
    >>> def text(p):
    ...     return "" if p.profile["age"] is None else f"age {p.profile['age']}"
    >>> donors = assign_donors(people, seed=0, preamble=text)
    >>> all(text(donors.of(p)) != text(p) for p in people[:4])
    True
    >>> donors.of(people[4]) is None  # no preamble: neither recipient nor donor
    True
    >>> assign_donors(people[:2], seed=0, preamble=text).undonored  # both read 'age 31.0'
    (('e', '0'), ('e', '1'))
    """
    first: dict[Person, Participant] = {}
    for row in participants:
        person = person_of(row)
        current = first.get(person)
        if current is None or getattr(row, "session", 0) < getattr(current, "session", 0):
            first[person] = row
    by_experiment: dict[str, list[tuple[Person, Participant, str]]] = defaultdict(list)
    for person, row in first.items():
        text = preamble(row)
        if text:
            by_experiment[person[0]].append((person, row, text))
    donors: dict[Person, Participant] = {}
    undonored: list[Person] = []
    for experiment in sorted(by_experiment):
        members = by_experiment[experiment]
        sizes: dict[str, int] = defaultdict(int)
        for _, _, text in members:
            sizes[text] += 1
        if len(sizes) < 2:
            undonored += sorted(person for person, _, _ in members)
            continue
        ring = sorted(
            members,
            key=lambda m: (_hash(seed, experiment, "text", m[2]), _hash(seed, *m[0])),
        )
        shift = max(sizes.values())
        for position, (person, _, text) in enumerate(ring):
            target = (position + shift) % len(ring)
            while ring[target][2] == text:
                target = (target + 1) % len(ring)
            donors[person] = ring[target][1]
    return Donors(donors, tuple(undonored))
