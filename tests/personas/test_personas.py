"""Persona rendering: derangement without fixed points, preambles that skip missing
fields, spans that still point at the responses, and clear errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from study.errors import ConfigError, StudyInputError
from study.personas import (
    PersonaCondition,
    assign_donors,
    parse_condition,
    render,
    render_all,
    render_preamble,
)
from study.personas.config import PersonaTextsConfig
from study.records import ChoicePoint, Participant

QUESTIONS = {
    "age": "What is your age?",
    "gender": "What is your gender?",
    "diagnosis": "Any diagnosis?",
}
TEXTS = PersonaTextsConfig(questions=QUESTIONS, archetypes={"bold": "I take risks."})


def person(pid: str, experiment: str = "exp", **profile) -> Participant:
    transcript = f"Trial 1: you press <<L>>. Trial 2: you press <<R{pid}>>."
    first = transcript.index("<<L>>") + 2
    second = transcript.index(f"<<R{pid}>>") + 2
    choices = (
        ChoicePoint(experiment, pid, 0, "L", first, first + 1),
        ChoicePoint(experiment, pid, 1, f"R{pid}", second, second + 1 + len(pid)),
    )
    return Participant(experiment, pid, transcript, profile=profile, choices=choices)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=2, max_value=40), min_size=1, max_size=4),
    seed=st.integers(0, 2**31),
)
def test_other_is_a_derangement_within_each_experiment(sizes: list[int], seed: int) -> None:
    people = [
        person(str(i), experiment=f"exp{e}") for e, size in enumerate(sizes) for i in range(size)
    ]
    donors = assign_donors(people, seed)
    for p in people:
        donor = donors[p.key]
        assert donor.key != p.key, "nobody gets their own profile"
        assert donor.experiment == p.experiment, "donors come from the same experiment"
    # A permutation: each profile is given away exactly once.
    assert sorted(d.key for d in donors.values()) == sorted(p.key for p in people)


def test_derangement_is_seeded_and_ignores_input_order() -> None:
    people = [person(str(i)) for i in range(12)]
    forward = {k: d.key for k, d in assign_donors(people, 7).items()}
    backward = {k: d.key for k, d in assign_donors(list(reversed(people)), 7).items()}
    other_seed = {k: d.key for k, d in assign_donors(people, 8).items()}
    assert forward == backward
    assert forward != other_seed


def test_other_with_a_single_participant_names_who_and_where() -> None:
    alone = Participant("lonely", "p1", "x <<a>>", source="data/lonely.jsonl", line=4)
    with pytest.raises(StudyInputError) as caught:
        assign_donors([alone], seed=0)
    message = str(caught.value)
    assert "data/lonely.jsonl:4" in message and "'p1'" in message and "two participants" in message


def test_preamble_skips_missing_fields_and_keeps_question_order() -> None:
    text = render_preamble(
        {"diagnosis": "Bipolar", "age": 31.0, "gender": None, "condition": "repeated"}, QUESTIONS
    )
    assert text == (
        "Interviewer: What is your age?\nInterviewee: 31\n\n"
        "Interviewer: Any diagnosis?\nInterviewee: Bipolar"
    )
    assert render_preamble({"age": math.nan, "gender": "  "}, QUESTIONS) == ""


def test_every_condition_keeps_spans_on_the_responses() -> None:
    people = [person("1", age=31.0), person("2", gender="Female"), person("3")]

    def chat(user: str) -> str:
        return f"<|user|>{user}<|assistant|>"

    conditions = [
        parse_condition(name, TEXTS)
        for name in ["none", "own", "other", "archetype:bold", "assistant"]
    ]
    prompts = render_all(people, conditions, TEXTS, seed=3, chat=chat)
    assert len(prompts) == 15
    for rendered in prompts:
        assert [rendered.prompt[s:e] for s, e in rendered.spans] == list(rendered.responses)
        for s, e in rendered.spans:
            assert rendered.prompt[s - 2 : s] == "<<" and rendered.prompt[e : e + 2] == ">>"
    by = {(r.participant, r.persona): r for r in prompts}
    assert by[("1", "none")].prompt == people[0].transcript
    assert by[("1", "own")].prompt.startswith("Interviewer: What is your age?\nInterviewee: 31\n\n")
    # Participant 3 has no profile: `own` adds nothing rather than an empty interview.
    assert by[("3", "own")].prompt == people[2].transcript
    other = by[("1", "other")]
    assert other.persona_source != "1"
    donor = next(p for p in people if p.participant == other.persona_source)
    assert other.prompt.startswith(render_preamble(donor.profile, QUESTIONS))
    assert by[("2", "archetype:bold")].prompt.startswith("I take risks.\n\n")
    assistant = by[("2", "assistant")]
    assert assistant.prompt.startswith("<|user|>Please take part")
    assert assistant.template_chars == assistant.prompt.index("Trial 1")
    assert all(r.template_chars == 0 for r in prompts if r.persona != "assistant")


def test_assistant_needs_a_chat_template() -> None:
    with pytest.raises(ConfigError, match="chat template"):
        render(person("1"), PersonaCondition("assistant"), TEXTS, chat=lambda user: None)


@pytest.mark.parametrize("name", ["self", "archetype:timid", "Own"])
def test_unknown_conditions_are_configuration_errors(name: str) -> None:
    with pytest.raises(ConfigError):
        parse_condition(name, TEXTS)
