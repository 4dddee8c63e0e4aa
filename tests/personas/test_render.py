"""Rendering: which prompts exist (own and other only with a preamble, other only with a
donor that reads differently), spans that still point at the responses, clear errors."""

from __future__ import annotations

import logging

import pytest

from study.errors import ConfigError
from study.personas import PersonaCondition, Preamble, parse_condition, render, render_all
from study.personas.config import PreambleConfig, PreambleField
from tests.personas.helpers import TEXTS, person, preamble_config, shipped

SMALL = PreambleConfig(
    fields={
        "age": PreambleField("What is your age?", cast="float"),
        "gender": PreambleField("What is your gender?", values={"female": ["Female"]}),
    },
    keys={"age": "age", "gender": "gender"},
)


def test_every_condition_keeps_spans_on_the_responses() -> None:
    people = [person("1", age=31.0), person("2", gender="Female"), person("3")]

    def chat(user: str) -> str:
        return f"<|user|>{user}<|assistant|>"

    conditions = [
        parse_condition(name, TEXTS)
        for name in ["none", "own", "other", "archetype:bold", "assistant"]
    ]
    prompts = render_all(people, conditions, TEXTS, SMALL, seed=3, chat=chat)
    for rendered in prompts:
        assert [rendered.prompt[s:e] for s, e in rendered.spans] == list(rendered.responses)
        for s, e in rendered.spans:
            assert rendered.prompt[s - 2 : s] == "<<" and rendered.prompt[e : e + 2] == ">>"
    by = {(r.participant, r.persona): r for r in prompts}
    # Participant 3 has no profile: neither `own` nor `other`, the rest as usual.
    assert {persona for who, persona in by if who == "3"} == {
        "none",
        "archetype:bold",
        "assistant",
    }
    assert len(prompts) == 3 * 5 - 2
    assert by[("1", "none")].prompt == people[0].transcript
    assert by[("1", "own")].prompt == (
        "Interviewer: What is your age?\nInterviewee: 31.0\n\n" + people[0].transcript
    )
    other = by[("1", "other")]
    assert other.persona_source == "2"
    assert other.prompt == (
        "Interviewer: What is your gender?\nInterviewee: female\n\n" + people[0].transcript
    )
    assert by[("2", "archetype:bold")].prompt.startswith("I take risks.\n\nTrial 1")
    assistant = by[("2", "assistant")]
    assert assistant.prompt.startswith("<|user|>Please take part")
    assert assistant.template_chars == assistant.prompt.index("Trial 1")
    assert all(r.template_chars == 0 for r in prompts if r.persona != "assistant")


def test_dezfouli_placebo_never_repeats_the_own_preamble() -> None:
    people = shipped("dezfouli2019")
    preamble = Preamble(preamble_config("paper"))
    conditions = [PersonaCondition(kind) for kind in ("none", "own", "other")]
    prompts = render_all(people, conditions, TEXTS, preamble, seed=0)
    by = {(r.participant, r.persona): r for r in prompts}
    healthy = [p for p in people if p.profile["diagnosis"] == "Healthy"]
    assert healthy and all((p.participant, "own") not in by for p in healthy)
    assert all((p.participant, "none") in by for p in people), "none scores everybody"
    others = [r for r in prompts if r.persona == "other"]
    assert len(others) == len(people) - len(healthy)
    for other in others:
        own = by[(other.participant, "own")]
        own_head = own.prompt[: own.prompt.index("\n\n") + 2]
        other_head = other.prompt[: other.prompt.index("\n\n") + 2]
        assert other_head != own_head and "clinical diagnoses" in other_head


def test_participants_without_a_donor_are_logged_and_get_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    people = [
        person("1", experiment="same", age=23.0),
        person("2", experiment="same", age=23.0),
        person("3", experiment="mixed", age=23.0),
        person("4", experiment="mixed", age=30.0),
    ]
    conditions = [PersonaCondition("own"), PersonaCondition("other")]
    with caplog.at_level(logging.INFO, logger="study.personas.render"):
        prompts = render_all(people, conditions, TEXTS, SMALL, seed=0)
    rows = {(r.experiment, r.participant, r.persona) for r in prompts}
    assert ("same", "1", "own") in rows and ("same", "1", "other") not in rows
    assert ("mixed", "3", "other") in rows and ("mixed", "4", "other") in rows
    assert "2 persons have no donor" in caplog.text and "same: 2" in caplog.text


def test_a_lone_participant_gets_no_other_instead_of_an_error() -> None:
    prompts = render_all([person("1", age=30.0)], [PersonaCondition("other")], TEXTS, SMALL, seed=0)
    assert prompts == []


def test_assistant_needs_a_chat_template() -> None:
    with pytest.raises(ConfigError, match="chat template"):
        render(person("1"), PersonaCondition("assistant"), TEXTS, SMALL, chat=lambda user: None)


@pytest.mark.parametrize("name", ["self", "archetype:timid", "Own"])
def test_unknown_conditions_are_configuration_errors(name: str) -> None:
    with pytest.raises(ConfigError):
        parse_condition(name, TEXTS)
