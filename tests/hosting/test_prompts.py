"""C4's prompts: spans on the responses in every design, owners and choices right, probe
swaps that change one response to another option, the length limit never inside `<<`,
co-hosted blocks under their labels, and config errors that name the key."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from study.data.options import options_for
from study.errors import ConfigError
from study.hosting.config import HostingConfig
from study.hosting.prompts import hosted_prompts
from study.hosting.records import (
    ALONE,
    COHOSTED,
    CROSS,
    DESIGNS,
    INTERLEAVED,
    PROBE,
    SELF,
    SOLO,
    HostedPrompt,
)
from study.hosting.trials import trials
from study.personas.config import PreambleConfig, PreambleField
from study.personas.derangement import assign_donors
from study.personas.preamble import Preamble
from tests.hosting.helpers import by_id, configs, made_up, slice_people, slice_prompts

AGE = PreambleConfig(
    fields={"age": PreambleField("What is your age?", cast="float")}, keys={"age": "age"}
)


def check_spans(prompt: HostedPrompt, people: dict) -> None:
    """Spans on the responses between markers, every `<<` a scored response (so no cut
    inside one), and owners/choices naming the response of that person's choice."""
    assert [prompt.prompt[s:e] for s, e in prompt.spans] == list(prompt.responses), prompt.name
    for start, end in prompt.spans:
        assert prompt.prompt[start - 2 : start] == "<<" and prompt.prompt[end : end + 2] == ">>"
    assert prompt.prompt.count("<<") == len(prompt.spans), prompt.name
    assert len(prompt.owners) == len(prompt.choices) == len(prompt.spans)
    for i, (owner, k) in enumerate(zip(prompt.owners, prompt.choices, strict=True)):
        original = people[(prompt.experiment, owner)].choices[k].response
        if prompt.design == PROBE and i == swapped_index(prompt, people):
            assert prompt.responses[i] != original
        else:
            assert prompt.responses[i] == original, (prompt.name, i)


def swapped_index(prompt: HostedPrompt, people: dict) -> int:
    """The span a probe swapped: the partner's (ct) or the target's (ss) last before the
    probed one."""
    probed = prompt.probed
    same = prompt.swap == SELF
    target = prompt.target
    return max(i for i in range(probed) if (prompt.owners[i] == target) == same)


def test_every_design_keeps_spans_owners_and_choices_right() -> None:
    people = by_id(slice_people())
    prompts = slice_prompts()
    assert {p.design for p in prompts} == set(DESIGNS)
    for prompt in prompts:
        check_spans(prompt, people)
    names = Counter((p.experiment, p.target, p.name) for p in prompts)
    assert max(names.values()) == 1, "a prompt's name is unique among its target's"


def test_prompts_are_target_major_and_only_first_sessions_are_targets() -> None:
    prompts = slice_prompts()
    order = [(p.experiment, p.target) for p in prompts]
    blocks = [key for i, key in enumerate(order) if i == 0 or order[i - 1] != key]
    assert len(blocks) == len(set(blocks)), "all prompts of one target together"
    assert all(p.session == 0 for p in prompts)
    targets = {(p.experiment, p.participant) for p in slice_people() if p.session == 0}
    assert set(blocks) == targets


def test_alone_and_cohosted_show_each_slot_under_its_label() -> None:
    hosting, preamble_cfg = configs()
    preamble = Preamble(preamble_cfg)
    people = by_id(slice_people())
    for prompt in slice_prompts():
        if prompt.design not in (ALONE, COHOSTED):
            continue
        if prompt.design == ALONE:
            assert prompt.k == 1
        else:
            assert prompt.k > 1 and prompt.k in hosting.ks
        labels = hosting.labels[: prompt.k]
        blocks = [
            hosting.profile_block.format(
                label=label,
                preamble=preamble.text(prompt.experiment, people[(prompt.experiment, s)].profile),
            )
            for label, s in zip(labels, prompt.slots, strict=True)
        ]
        head = (
            hosting.cohost_header.format(labels=" and ".join(labels))
            + "".join(blocks)
            + hosting.attribution.format(label=labels[prompt.target_slot])
        )
        target = people[(prompt.experiment, prompt.target)]
        assert (head + target.transcript).startswith(prompt.prompt), prompt.name
        assert len(prompt.prompt) > len(head)
        if prompt.design == COHOSTED:
            assert prompt.target_slot == (0 if prompt.position == "first" else prompt.k - 1)
            if prompt.slot == "own":
                # The target's own block sits first or last, as its position says.
                own = hosting.profile_block.format(
                    label=labels[prompt.target_slot],
                    preamble=preamble.text(target.experiment, target.profile),
                )
                assert blocks[prompt.target_slot] == own
                assert prompt.slots[prompt.target_slot] == prompt.target


def test_own_and_other_share_partners_and_partners_have_alone_prompts() -> None:
    _, preamble_cfg = configs()
    preamble = Preamble(preamble_cfg)
    people = slice_people()
    donors = assign_donors(
        [p for p in people if p.session == 0],
        0,
        lambda p: preamble.text(p.experiment, p.profile),
    )
    by_target = defaultdict(list)
    for prompt in slice_prompts():
        by_target[(prompt.experiment, prompt.target)].append(prompt)
    checked = 0
    for (experiment, target), prompts in by_target.items():
        donor = donors.by_person.get((experiment, target))
        cohosted = [p for p in prompts if p.design == COHOSTED]
        partners_of = defaultdict(set)
        for p in cohosted:
            others = tuple(s for i, s in enumerate(p.slots) if i != p.target_slot)
            partners_of[(p.k, p.partners, p.position)].add(others)
            holder = p.slots[p.target_slot]
            assert holder == (target if p.slot == "own" else donor.participant)
            assert donor is None or donor.participant not in others
        assert all(len(v) == 1 for v in partners_of.values()), "own and other share partners"
        used = {s for p in cohosted for i, s in enumerate(p.slots) if i != p.target_slot}
        alone_partners = {p.slots[0] for p in prompts if p.design == ALONE and p.slot == "partner"}
        assert alone_partners == used
        checked += bool(cohosted)
    assert checked > 10


def test_interleaved_alternates_labelled_turns_and_solo_is_the_targets_alone() -> None:
    hosting, _ = configs()
    people = by_id(slice_people())
    for prompt in slice_prompts():
        if prompt.design not in (INTERLEAVED, SOLO):
            continue
        assert prompt.slot == "none" and prompt.slots == () and prompt.target_slot == -1
        pair = list(dict.fromkeys(prompt.owners))
        assert pair[0] == prompt.target and len(pair) == (2 if prompt.design == INTERLEAVED else 1)
        persons = [
            [(label, owner, t) for t in trials(people[(prompt.experiment, owner)])]
            for label, owner in zip(hosting.labels, pair, strict=False)
        ]
        turns = [ts[i] for i in range(max(map(len, persons))) for ts in persons if i < len(ts)]
        header = hosting.interleave_header.format(labels=" and ".join(hosting.labels[: len(pair)]))
        expected = header + hosting.turn_separator.join(
            hosting.turn.format(label=label, trial=t.lstripped().text) for label, _, t in turns
        )
        assert expected.startswith(prompt.prompt), prompt.name
        n = len(prompt.spans)
        assert prompt.owners == tuple(owner for _, owner, _ in turns[:n])
        assert prompt.choices == tuple(t.choice for _, _, t in turns[:n])


def test_probe_swaps_exactly_one_response_to_another_option_of_its_owner() -> None:
    people = by_id(slice_people())
    prompts = slice_prompts()
    interleaved = {(p.experiment, p.target): p for p in prompts if p.design == INTERLEAVED}
    probes = [p for p in prompts if p.design == PROBE]
    assert {p.swap for p in probes} == {CROSS, SELF}
    per_point = Counter((p.experiment, p.target, p.probed) for p in probes)
    assert set(per_point.values()) == {2}, "every probed choice has both swaps"
    for probe in probes:
        base = interleaved[(probe.experiment, probe.target)]
        n = len(probe.spans)
        assert probe.probed == n - 1 and probe.owners[-1] == probe.target
        assert probe.choices[-1] >= 1
        assert probe.owners == base.owners[:n] and probe.choices == base.choices[:n]
        changed = [i for i in range(n) if probe.responses[i] != base.responses[i]]
        assert len(changed) == 1
        (i,) = changed
        owner = probe.owners[i]
        assert (owner == probe.target) == (probe.swap == SELF)
        options = options_for(people[(probe.experiment, owner)])
        assert probe.responses[i] in options and base.responses[i] in options
        # Nothing else moved: the text around the swapped response is the interleaved one.
        s, e = probe.spans[i]
        bs, be = base.spans[i]
        assert probe.prompt[:s] == base.prompt[:bs]
        assert probe.prompt[e:] == base.prompt[be : base.spans[n - 1][1] + 2]


def test_length_limit_keeps_every_prompt_outside_an_open_marker() -> None:
    hosting, preamble_cfg = configs()
    small = dataclasses.replace(preamble_cfg, max_prompt_chars=1500)
    people = slice_people(4)
    prompts = hosted_prompts(people, hosting, small, seed=0, options=options_for)
    assert any(p.design == PROBE for p in prompts)
    for prompt in prompts:
        assert len(prompt.prompt) <= 1500
        check_spans(prompt, by_id(people))
        if prompt.design == PROBE:
            assert prompt.probed == len(prompt.spans) - 1


def test_persons_without_preamble_still_pair_and_short_targets_are_logged(caplog) -> None:
    people = [
        made_up("1", ["L", "R", "L"], age=20.0),
        made_up("2", ["R", "R"], age=30.0),
        made_up("3", ["R", "L"], age=40.0),
        made_up("4", ["L", "L", "R", "R"]),  # no preamble
    ]
    with caplog.at_level(logging.INFO, logger="study.hosting.prompts"):
        prompts = hosted_prompts(people, HostingConfig(), AGE, seed=0, options=lambda p: ("L", "R"))
    designs = defaultdict(set)
    for p in prompts:
        designs[p.target].add(p.design)
    assert designs["4"] == {INTERLEAVED, SOLO, PROBE}
    assert designs["1"] == {ALONE, COHOSTED, INTERLEAVED, SOLO, PROBE}
    # Each has two others with a preamble, one of them its donor (never a partner): one
    # partner, so K=2 only.
    assert {p.k for p in prompts if p.design == COHOSTED} == {2}
    assert "fewer than 3 candidate partners" in caplog.text
    assert "no preamble" in caplog.text
    for prompt in prompts:
        check_spans(prompt, by_id(people))


def test_turns_use_the_configured_format() -> None:
    people = [
        made_up("1", ["L", "R"], age=20.0),
        made_up("2", ["R"], age=30.0),
        made_up("3", ["L"], age=40.0),
    ]
    cfg = HostingConfig(
        ks=[1, 2],
        labels=["Ann", "Bo"],
        turn="[{label}] {trial} ({label})",
        turn_separator="\n--\n",
        interleave_header="Players: {labels}.\n",
    )
    prompts = hosted_prompts(people, cfg, AGE, seed=0, options=lambda p: None)
    interleaved = next(p for p in prompts if p.design == INTERLEAVED and p.target == "1")
    second = {"2": "R", "3": "L"}[interleaved.owners[1]]
    assert interleaved.prompt == (
        "Players: Ann and Bo.\n"
        "[Ann] Instructions.\nTrial 0: press <<L>> (Ann)\n--\n"
        f"[Bo] Instructions.\nTrial 0: press <<{second}>> (Bo)\n--\n"
        "[Ann] Outcome. Trial 1: press <<R>> (Ann)"
    )
    solo = next(p for p in prompts if p.design == SOLO and p.target == "2")
    assert solo.prompt == "Players: Ann.\n[Ann] Instructions.\nTrial 0: press <<R>> (Ann)"
    assert not any(p.design == PROBE for p in prompts)  # no option sets
    cohosted = next(
        p
        for p in prompts
        if p.design == COHOSTED and p.position == "last" and p.slot == "own" and p.target == "1"
    )
    partner_age = {"2": "30.0", "3": "40.0"}[cohosted.slots[0]]
    assert cohosted.slots[1] == "1"
    assert cohosted.prompt.startswith(
        "The following people take part in this experiment.\n\n"
        f"Ann:\nInterviewer: What is your age?\nInterviewee: {partner_age}\n\n"
        "Bo:\nInterviewer: What is your age?\nInterviewee: 20.0\n\n"
        "The session below is Bo's.\n\nInstructions."
    )


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"ks": [0, 2]}, "hosting.ks"),
        ({"ks": [1, 5]}, "hosting.labels"),
        ({"labels": ["A"], "ks": [1]}, "hosting.labels"),
        ({"positions": ["middle"]}, "hosting.positions"),
        ({"partners": ["nearest"]}, "hosting.partners"),
        ({"turn": "{label}:"}, "hosting.turn"),
        ({"attribution": "It is {name}'s."}, "hosting.attribution"),
        ({"crosstalk_probes": -1}, "hosting.crosstalk_probes"),
    ],
)
def test_bad_config_names_its_key(change, key) -> None:
    cfg = dataclasses.replace(HostingConfig(), **change)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        hosted_prompts([made_up("1", ["L"])], cfg, AGE, seed=0, options=lambda p: None)


def test_result_depends_on_the_seed_not_the_input_order() -> None:
    hosting, preamble = configs()
    people = list(slice_people(6))
    shuffled = people[:]
    random.Random(3).shuffle(shuffled)

    def keyed(prompts):
        return {(p.experiment, p.target, p.name): p for p in prompts}

    first = keyed(hosted_prompts(people, hosting, preamble, seed=0, options=options_for))
    again = keyed(hosted_prompts(shuffled, hosting, preamble, seed=0, options=options_for))
    assert first == again
    reseeded = keyed(hosted_prompts(people, hosting, preamble, seed=1, options=options_for))
    assert reseeded != first


_responses = st.lists(st.sampled_from(["L", "R", "up"]), min_size=1, max_size=5)
_ages = st.integers(18, 22)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(_responses, st.one_of(st.none(), _ages)), min_size=1, max_size=6),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(60, 400)),
)
def test_any_small_experiment_gives_consistent_prompts(persons, seed, limit) -> None:
    people = [
        made_up(str(i), responses, **({} if age is None else {"age": float(age)}))
        for i, (responses, age) in enumerate(persons)
    ]
    preamble = dataclasses.replace(AGE, max_prompt_chars=limit)
    prompts = hosted_prompts(
        people, HostingConfig(), preamble, seed=seed, options=lambda p: ("L", "R", "up")
    )
    for prompt in prompts:
        check_spans(prompt, by_id(people))
        assert limit is None or len(prompt.prompt) <= limit
    if len(people) > 1:
        paired = {p.target for p in prompts if p.design == INTERLEAVED}
        assert paired == {p.participant for p in people}


def test_targets_keeps_the_first_persons_of_each_experiment_and_all_still_partner() -> None:
    hosting, preamble = configs()
    people = list(slice_people(6))
    few = dataclasses.replace(hosting, targets=2)
    prompts = hosted_prompts(people, few, preamble, seed=0, options=options_for)
    firsts = defaultdict(list)
    for p in people:
        if p.session == 0 and len(firsts[p.experiment]) < 2:
            firsts[p.experiment].append(p.participant)
    assert {(p.experiment, p.target) for p in prompts} == {
        (e, t) for e, ts in firsts.items() for t in ts
    }
    owners = {o for p in prompts if p.design == INTERLEAVED for o in p.owners}
    slots = {s for p in prompts for s in p.slots}
    assert not (owners | slots) <= {t for ts in firsts.values() for t in ts}
