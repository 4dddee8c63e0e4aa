"""The preamble: the paper's fields, wording, order and value casting (conf/preamble/
paper.yaml, as the command line composes it), checked on the shipped data; the clean
variant; the key maps; configuration errors."""

from __future__ import annotations

import pytest

from study.errors import ConfigError
from study.personas import Preamble, render_preamble
from study.personas.config import PreambleConfig, PreambleField
from tests.personas.helpers import preamble_config, shipped

# STUDY.md, "The T1 protocol": the fields, in order.
PAPER_FIELDS = [
    "age",
    "gender",
    "nationality",
    "education",
    "clinical diagnosis",
    "STICSA-T somatic",
    "STICSA-T cognitive",
    "STAI-S",
    "STAI-T",
    "IUS",
    "RRQ",
    "AUDIT",
    "DAST",
    "PSWQ",
    "GAD-7",
    "SDS",
    "OCI",
    "PHQ-9",
    "PHQ-8",
    "BAS Drive",
    "BAS Fun Seeking",
    "BAS Reward Responsiveness",
    "BDI-II",
    "BIS-11",
    "BIS-10",
]


@pytest.fixture(scope="module")
def paper() -> Preamble:
    return Preamble(preamble_config("paper"))


@pytest.fixture(scope="module")
def clean() -> Preamble:
    return Preamble(preamble_config("clean"))


def test_paper_fields_questions_and_order(paper: Preamble) -> None:
    assert [rule.name for rule in paper.rules] == PAPER_FIELDS
    questions = {rule.name: rule.question for rule in paper.rules}
    assert questions["education"] == "What is your highest level of education?"
    assert questions["clinical diagnosis"] == "Do you have any clinical diagnoses?"
    for name in PAPER_FIELDS[5:]:
        assert questions[name] == f"What is your {name} score?"


def test_thoma_age_as_float_and_gender_lower_case(paper: Preamble, clean: Preamble) -> None:
    first = shipped("thoma2025riskychoice", limit=1)[0]
    assert first.profile["gender"] == "Female"
    assert paper.text(first.experiment, first.profile) == (
        "Interviewer: What is your age?\nInterviewee: 31.0\n\n"
        "Interviewer: What is your gender?\nInterviewee: female\n\n"
    )
    # The condition is in the profile but is not a trait of the person.
    assert "repeated" not in paper.text(first.experiment, first.profile)
    assert clean.text(first.experiment, first.profile) == (
        "Interviewer: What is your age?\nInterviewee: 31\n\n"
        "Interviewer: What is your gender?\nInterviewee: Female\n\n"
    )


def test_busch_integer_ages_are_written_as_floats(paper: Preamble) -> None:
    people = shipped("busch2024_stroop", limit=10)
    first = people[0]
    assert paper.text(first.experiment, first.profile) == (
        "Interviewer: What is your age?\nInterviewee: 37.0\n\n"
    )
    for p in people:
        assert paper.lines(p.experiment, p.profile) == [
            ("What is your age?", f"{float(p.profile['age'])}")
        ]


def test_dezfouli_healthy_has_no_line_and_diagnoses_are_lower_case(
    paper: Preamble, clean: Preamble
) -> None:
    people = shipped("dezfouli2019")
    by_diagnosis = {p.profile["diagnosis"]: p for p in people}
    assert set(by_diagnosis) == {"Healthy", "Depression", "Bipolar"}
    healthy = by_diagnosis["Healthy"]
    assert paper.text(healthy.experiment, healthy.profile) == ""
    depressed = by_diagnosis["Depression"]
    assert paper.text(depressed.experiment, depressed.profile) == (
        "Interviewer: Do you have any clinical diagnoses?\nInterviewee: depression\n\n"
    )
    bipolar = by_diagnosis["Bipolar"]
    assert paper.lines(bipolar.experiment, bipolar.profile) == [
        ("Do you have any clinical diagnoses?", "bipolar")
    ]
    # The package's own format keeps the original spelling, controls included.
    assert clean.text(healthy.experiment, healthy.profile).endswith("Interviewee: Healthy\n\n")


@pytest.mark.parametrize(
    ("field", "raw", "written"),
    [
        ("age", 18.0, "18.0"),
        ("age", 0.0, "0.0"),
        ("age", 100.0, "100.0"),
        ("age", -1.0, None),
        ("age", 100.5, None),
        ("age", "eighteen", None),
        ("gender", "F", "female"),
        ("gender", "Woman", "female"),
        ("gender", "Man", "male"),
        ("gender", "NB", "other"),
        ("gender", "Prefer not to say", None),
        ("gender", "genderqueer", "genderqueer"),
        ("nationality", "GBR", "United Kingdom"),
        ("nationality", "Scotland", "United Kingdom"),
        ("nationality", "United_States", "United States"),
        ("nationality", "Other Germany", "Germany"),
        ("nationality", "South Korea", "Korea"),
        ("nationality", "Unknown", None),
        ("nationality", "White", None),
        ("nationality", "Atlantis", "Atlantis"),
        ("nationality", "German", "German"),  # a demonym the paper does not map
        ("education", "Bachelor's Degree in College (4-year)", "Bachelor's Degree"),
        ("education", "PhD", "Master's Degree or Higher"),
        ("education", "Rather not say", None),
        ("clinical diagnosis", "no-lesion-control", None),
        ("clinical diagnosis", "non-PFC-lesion", "brain-lesion"),
        ("STAI-T", 41.7, "41"),
        ("STAI-T", "high", None),
        ("GAD-7", 12.0, "12"),
        ("GAD-7", 12.5, "12.5"),
    ],
)
def test_paper_casting(paper: Preamble, field: str, raw, written: str | None) -> None:
    rule = next(rule for rule in paper.rules if rule.name == field)
    assert rule.write(raw) == written


def test_key_renames_and_the_last_listed_key_wins(paper: Preamble) -> None:
    lines = paper.lines(
        "exp", {"sex": "M", "gender": "Female", "stai": 30.0, "stai_total": 44.0, "PHQ": 5.0}
    )
    assert lines == [
        ("What is your gender?", "male"),
        ("What is your STAI-T score?", "44"),
        ("What is your PHQ-9 score?", "5"),
    ]


def test_per_experiment_overrides_change_only_that_experiment() -> None:
    cfg = preamble_config(
        "paper",
        "+preamble.experiments.kids={sex: null, condition: clinical diagnosis}",
    )
    preamble = Preamble(cfg)
    profile = {"sex": "F", "condition": "Depression"}
    assert preamble.lines("kids", profile) == [
        ("Do you have any clinical diagnoses?", "depression")
    ]
    assert preamble.lines("adults", profile) == [("What is your gender?", "female")]


def test_clean_and_no_cut_from_the_command_line() -> None:
    cfg = preamble_config("clean", "preamble.max_prompt_chars=null")
    assert cfg.name == "clean" and cfg.max_prompt_chars is None
    assert preamble_config("paper").max_prompt_chars == 32768


def test_a_key_mapped_to_an_unknown_field_is_named() -> None:
    cfg = PreambleConfig(fields={"age": PreambleField("Age?")}, keys={"yrs": "years"})
    with pytest.raises(ConfigError, match=r"preamble\.keys: key 'yrs' is mapped to 'years'"):
        Preamble(cfg)
    cfg = PreambleConfig(fields={"age": PreambleField("Age?")}, experiments={"e": {"yrs": "years"}})
    with pytest.raises(ConfigError, match=r"preamble\.experiments\.e"):
        Preamble(cfg)


def test_a_spelling_listed_twice_is_a_configuration_error() -> None:
    field = PreambleField("Gender?", values={"female": ["F"]}, missing=["f"], ignore_case=True)
    with pytest.raises(ConfigError, match=r"preamble.fields.gender: spelling 'f'"):
        Preamble(PreambleConfig(fields={"gender": field}))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (PreambleField(""), "question is empty"),
        (PreambleField("Age?", cast="years"), "unknown cast 'years'"),
        (PreambleField("Age?", low=10, high=1), "low"),
    ],
)
def test_bad_field_configs_are_named(spec: PreambleField, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Preamble(PreambleConfig(fields={"age": spec}))


def test_missing_values_give_no_line_and_empty_profiles_no_preamble(paper: Preamble) -> None:
    assert paper.text("e", {"age": None, "gender": "nan-like", "condition": "A"}) == (
        "Interviewer: What is your gender?\nInterviewee: nan-like\n\n"
    )
    assert paper.text("e", {"age": float("nan"), "gender": "  "}) == ""
    assert render_preamble({}, preamble_config("paper")) == ""
