"""Who shares a co-hosted context with a target: the partner rules (``hosting.partners``).

A rule picks the K - 1 partners of a target among the persons of the same experiment
whose preamble is non-empty and reads differently from the target's (a partner that
reads the same would be indistinguishable from the target). Candidates are ranked by
the distance between their profile and the target's, over the preamble's fields:

- a number against a number: ``|x - y|`` divided by that field's standard deviation
  over the experiment's persons (1 when it is 0 or undefined), so that age in years and
  a questionnaire score weigh alike;
- anything else: 0 when the written answers are equal, else 1;
- a field one of the two has and the other lacks: 1.

``similar`` takes the closest candidates, ``contrasting`` the furthest. Ties (common:
many persons share an age) are broken by a seeded hash of (seed, experiment,
participant), so the choice is deterministic, independent of the input order, and
changes with the seed. Persons are (experiment, participant), read from their first
session, as for the `other` condition's donors.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from study.engines.seeds import stable_int
from study.errors import ConfigError
from study.personas.derangement import Person
from study.personas.preamble import Preamble
from study.records import Participant

# Rule name -> the sort key of a candidate at distance d (smallest first).
RULES: dict[str, Callable[[float], float]] = {
    "similar": lambda distance: distance,
    "contrasting": lambda distance: -distance,
}

# A profile as the distance reads it: field -> number, or the written answer.
Values = dict[str, float | str]


def check_rules(names: Iterable[str], key: str = "hosting.partners") -> None:
    """Refuse a rule name that :data:`RULES` does not know, naming it and the known ones.

    >>> check_rules(["similar", "nearest"])
    Traceback (most recent call last):
    ...
    study.errors.ConfigError: hosting.partners: unknown partner rule 'nearest'; known: \
contrasting, similar
    """
    for name in names:
        if name not in RULES:
            raise ConfigError(
                f"{key}: unknown partner rule {name!r}; known: {', '.join(sorted(RULES))}"
            )


def profile_values(preamble: Preamble, row: Participant) -> Values:
    """The fields ``row``'s preamble shows: numbers as read, everything else as written."""
    return {
        rule.name: value if isinstance(value, float) else answer
        for rule, value, answer in preamble.answers(row.experiment, row.profile)
    }


def field_spreads(profiles: Iterable[Values]) -> dict[str, float]:
    """Per field, the standard deviation of its numbers over ``profiles`` (population
    SD), or 1 where it is 0 or there are fewer than two numbers.

    >>> field_spreads([{"age": 20.0}, {"age": 30.0}, {"age": 40.0, "sex": "f"}, {}])["age"]
    8.16496580927726
    >>> field_spreads([{"age": 20.0}, {"age": 20.0}])
    {'age': 1.0}
    """
    numbers: dict[str, list[float]] = defaultdict(list)
    for values in profiles:
        for name, value in values.items():
            if isinstance(value, float):
                numbers[name].append(value)
    spreads = {name: statistics.pstdev(xs) if len(xs) > 1 else 0.0 for name, xs in numbers.items()}
    return {name: sd if sd > 0 else 1.0 for name, sd in spreads.items()}


def distance(a: Values, b: Values, spreads: dict[str, float]) -> float:
    """The profile distance of the module doc.

    >>> distance({"age": 20.0, "sex": "f"}, {"age": 30.0, "sex": "m"}, {"age": 5.0})
    3.0
    >>> distance({"age": 20.0}, {"age": 20.0, "sex": "m"}, {"age": 5.0})
    1.0
    """
    total = 0.0
    for name in a.keys() | b.keys():
        if name not in a or name not in b:
            total += 1.0
            continue
        x, y = a[name], b[name]
        if isinstance(x, float) and isinstance(y, float):
            total += abs(x - y) / spreads.get(name, 1.0)
        else:
            total += 0.0 if x == y else 1.0
    return total


@dataclass(frozen=True, slots=True)
class _Member:
    row: Participant
    text: str
    values: Values
    tie: int


class Partners:
    """The partner rules over one set of persons (every experiment at once).

    >>> from study.personas.config import PreambleConfig, PreambleField
    >>> cfg = PreambleConfig(fields={"age": PreambleField("Age?", cast="float")},
    ...                      keys={"age": "age"})
    >>> people = [Participant("e", str(a), "", profile={"age": float(a)})
    ...           for a in (20, 21, 30, 60)]
    >>> partners = Partners(people, Preamble(cfg), seed=0)
    >>> [p.participant for p in partners.pick(people[0], "similar", 2)]
    ['21', '30']
    >>> [p.participant for p in partners.pick(people[0], "contrasting", 2)]
    ['60', '30']
    >>> partners.pick(people[0], "similar", 4) is None  # only three candidates
    True
    """

    def __init__(self, participants: Iterable[Participant], preamble: Preamble, seed: int) -> None:
        first: dict[Person, Participant] = {}
        for row in participants:
            current = first.get(row.person)
            if current is None or row.session < current.session:
                first[row.person] = row
        by_experiment: dict[str, list[_Member]] = defaultdict(list)
        for (experiment, participant), row in first.items():
            text = preamble.text(experiment, row.profile)
            if text:
                tie = stable_int("partners", seed, experiment, participant)
                by_experiment[experiment].append(
                    _Member(row, text, profile_values(preamble, row), tie)
                )
        self._members = {m.row.person: m for ms in by_experiment.values() for m in ms}
        self._experiments = dict(by_experiment)
        self._spreads = {
            experiment: field_spreads(m.values for m in members)
            for experiment, members in by_experiment.items()
        }

    def candidates(self, target: Participant, exclude: Collection[Person] = ()) -> list[_Member]:
        """The persons that could partner ``target`` (none when it has no preamble),
        leaving out the persons of ``exclude``."""
        own = self._members.get(target.person)
        if own is None:
            return []
        return [
            m
            for m in self._experiments[target.experiment]
            if m.text != own.text and m.row.person not in exclude
        ]

    def pick(
        self, target: Participant, rule: str, n: int, exclude: Collection[Person] = ()
    ) -> tuple[Participant, ...] | None:
        """The ``n`` partners of ``target``'s person under ``rule`` (their first
        sessions), the best-ranked first, none of them in ``exclude``; None when it has
        no preamble or fewer than ``n`` candidates."""
        check_rules([rule])
        own = self._members.get(target.person)
        candidates = self.candidates(target, exclude)
        if own is None or len(candidates) < n:
            return None
        spreads = self._spreads[target.experiment]
        key = RULES[rule]
        ranked = sorted(
            candidates, key=lambda m: (key(distance(own.values, m.values, spreads)), m.tie)
        )
        return tuple(m.row for m in ranked[:n])
