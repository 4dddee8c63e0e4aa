"""The `other` donors: a seeded derangement over distinct preamble texts."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from study.personas import assign_donors
from study.personas.derangement import person_of
from study.records import Participant

# A participant's preamble in these tests: its `text` profile value ('' for none).
TEXTS = ["", "age 23", "age 31", "age 40", "depression"]


def text_of(p: Participant) -> str:
    return str(p.profile["text"])


def people_with(texts_per_experiment: list[list[str]]) -> list[Participant]:
    return [
        Participant(f"exp{e}", str(i), "", profile={"text": text})
        for e, texts in enumerate(texts_per_experiment)
        for i, text in enumerate(texts)
    ]


@settings(max_examples=150, deadline=None)
@given(
    experiments=st.lists(
        st.lists(st.sampled_from(TEXTS), min_size=1, max_size=30), min_size=1, max_size=4
    ),
    seed=st.integers(0, 2**31),
)
def test_donors_read_differently_and_only_the_alike_go_without(
    experiments: list[list[str]], seed: int
) -> None:
    people = people_with(experiments)
    donors = assign_donors(people, seed, text_of)
    undonored = set(donors.undonored)
    for p in people:
        donor = donors.of(p)
        distinct = {text_of(q) for q in people if q.experiment == p.experiment} - {""}
        if not text_of(p):
            assert donor is None and person_of(p) not in undonored, "no preamble, no placebo"
        elif len(distinct) < 2:
            assert donor is None and person_of(p) in undonored
        else:
            assert donor is not None and person_of(p) not in undonored
            assert donor.experiment == p.experiment, "donors come from the same experiment"
            assert text_of(donor) not in ("", text_of(p)), "the placebo differs from own"
    for e, texts in enumerate(experiments):
        sizes = Counter(t for t in texts if t)
        if len(sizes) >= 2 and max(sizes.values()) * 2 <= sum(sizes.values()):
            given_away = [donors.by_person[(f"exp{e}", str(i))] for i, t in enumerate(texts) if t]
            # No text held by more than half: a permutation, every preamble used once.
            recipients = sorted((f"exp{e}", str(i)) for i, t in enumerate(texts) if t)
            assert sorted(person_of(d) for d in given_away) == recipients


def test_distinct_texts_give_a_permutation_and_seeds_matter() -> None:
    people = people_with([[f"age {i}" for i in range(12)]])

    def pairs(rows: list[Participant], seed: int) -> dict:
        return {k: person_of(d) for k, d in assign_donors(rows, seed, text_of).by_person.items()}

    forward = pairs(people, 7)
    backward = pairs(list(reversed(people)), 7)
    other_seed = pairs(people, 8)
    assert forward == backward, "the input order does not matter"
    assert forward != other_seed
    assert sorted(forward.values()) == sorted(person_of(p) for p in people)


def test_identical_preambles_are_never_paired() -> None:
    # busch2024_stroop-like: many people share an age; dezfouli2019-like: three groups.
    people = people_with([["age 23"] * 6 + ["age 31"] * 2, ["depression"] * 3 + ["bipolar"]])
    donors = assign_donors(people, 0, text_of)
    assert not donors.undonored
    assert all(text_of(donors.of(p)) != text_of(p) for p in people)


def test_a_lone_text_or_person_has_no_donor() -> None:
    people = people_with([["age 23", "age 23", ""], ["age 40"]])
    donors = assign_donors(people, 0, text_of)
    assert donors.by_person == {}
    assert donors.undonored == (("exp0", "0"), ("exp0", "1"), ("exp1", "0"))


def test_sessions_of_a_person_share_one_donor() -> None:
    people = people_with([["age 23", "age 31", "age 40"]])
    second_session = replace(people[0], transcript="day two")
    donors = assign_donors([*people, second_session], 3, text_of)
    assert donors.of(second_session) is donors.of(people[0])
    assert len(donors.by_person) == 3
