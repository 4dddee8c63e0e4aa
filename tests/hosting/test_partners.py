"""Partner rules: closest and furthest profiles over the preamble's fields, only among
persons of the same experiment whose preamble reads differently, ties broken by the seed."""

from __future__ import annotations

import random

import pytest

from study.errors import ConfigError
from study.hosting.partners import (
    RULES,
    Partners,
    check_rules,
    distance,
    field_spreads,
    profile_values,
)
from study.personas.config import PreambleConfig, PreambleField
from study.personas.preamble import Preamble
from study.records import Participant
from tests.hosting.helpers import EXPERIMENTS, configs
from tests.personas.helpers import shipped

CFG = PreambleConfig(
    fields={
        "age": PreambleField("What is your age?", cast="float"),
        "gender": PreambleField("What is your gender?"),
    },
    keys={"age": "age", "gender": "gender"},
)


def person(pid: str, experiment: str = "e", **profile) -> Participant:
    return Participant(experiment, pid, "", profile=profile)


def ids(rows) -> list[str]:
    return [row.participant for row in rows]


def test_distance_scales_numbers_and_counts_text_and_missing_fields() -> None:
    spreads = field_spreads([{"age": 20.0}, {"age": 40.0}])
    assert spreads == {"age": 10.0}
    assert distance({"age": 20.0}, {"age": 40.0}, spreads) == 2.0
    assert distance({"gender": "f"}, {"gender": "f"}, spreads) == 0.0
    assert distance({"gender": "f"}, {"gender": "m"}, spreads) == 1.0
    assert distance({"age": 20.0}, {"gender": "m"}, spreads) == 2.0  # one missing each way
    assert distance({"age": 20.0}, {"age": "unknown"}, spreads) == 1.0  # number vs text


def test_similar_takes_the_closest_and_contrasting_the_furthest() -> None:
    people = [
        person("t", age=30.0, gender="female"),
        person("near", age=31.0, gender="female"),
        person("mid", age=30.0, gender="male"),
        person("far", age=70.0, gender="male"),
        person("same", age=30.0, gender="female"),  # reads like the target: never a partner
        person("x", experiment="other", age=30.5, gender="female"),  # another experiment
        person("blank"),  # no preamble
    ]
    partners = Partners(people, Preamble(CFG), seed=0)
    assert ids(partners.pick(people[0], "similar", 3)) == ["near", "mid", "far"]
    assert ids(partners.pick(people[0], "contrasting", 3)) == ["far", "mid", "near"]
    assert sorted(ids(m.row for m in partners.candidates(people[0]))) == ["far", "mid", "near"]
    assert partners.pick(people[0], "similar", 4) is None
    assert ids(partners.pick(people[0], "similar", 2, exclude={("e", "near")})) == ["mid", "far"]
    assert partners.pick(people[-1], "similar", 1) is None  # no preamble, no partners


def test_ties_follow_the_seed_not_the_input_order() -> None:
    people = [person("t", age=20.0)] + [person(str(i), age=30.0) for i in range(12)]
    preamble = Preamble(CFG)
    picks = {}
    for seed in range(4):
        shuffled = people[:]
        random.Random(seed).shuffle(shuffled)
        first = ids(Partners(people, preamble, seed).pick(people[0], "similar", 3))
        again = ids(Partners(shuffled, preamble, seed).pick(people[0], "similar", 3))
        assert first == again
        picks[seed] = first
    assert len({tuple(p) for p in picks.values()}) > 1, "the seed breaks ties"


def test_unknown_rule_names_it_and_the_known_ones() -> None:
    check_rules(RULES)
    with pytest.raises(ConfigError, match=r"hosting\.partners: unknown partner rule 'nearest'"):
        check_rules(["similar", "nearest"])
    partners = Partners([person("t", age=1.0)], Preamble(CFG), seed=0)
    with pytest.raises(ConfigError, match="contrasting, similar"):
        partners.pick(person("t", age=1.0), "nearest", 1)


def test_shipped_partners_differ_from_the_target_and_are_ranked() -> None:
    _, preamble_cfg = configs()
    preamble = Preamble(preamble_cfg)
    for experiment in EXPERIMENTS:
        people = shipped(experiment, 20)
        partners = Partners(people, preamble, seed=1)
        values = {p.person: profile_values(preamble, p) for p in people}
        spreads = field_spreads(values.values())  # no preamble, no fields: count for nothing
        for target in people:
            own = preamble.text(experiment, target.profile)
            chosen = partners.pick(target, "similar", 3)
            if not own:
                assert chosen is None
                continue
            if chosen is None:
                assert len(partners.candidates(target)) < 3
                continue
            assert all(preamble.text(experiment, p.profile) not in ("", own) for p in chosen)
            d = [distance(values[target.person], values[p.person], spreads) for p in chosen]
            assert d == sorted(d)
            rest = [
                m.row
                for m in partners.candidates(target)
                if m.row.person not in {p.person for p in chosen}
            ]
            assert all(
                distance(values[target.person], values[r.person], spreads) >= d[-1] for r in rest
            )
