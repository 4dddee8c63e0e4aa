"""The option-set rule of STUDY.md: the card's list, else the participant's own responses."""

from __future__ import annotations

from pathlib import Path

import yaml

from study.data import experiment_options, iter_participants, options_for
from study.data.loader import SHIPPED_DATA
from study.records import ChoicePoint, Participant


def test_shipped_experiments_follow_their_cards() -> None:
    people = {p.experiment: p for p in iter_participants(SHIPPED_DATA, limit=1)}
    assert options_for(people["dezfouli2019"]) == ("L", "R")
    assert experiment_options(people["dezfouli2019"]) == ("L", "R")
    assert options_for(people["busch2024_stroop"]) == ("down", "left", "right")
    thoma = people["thoma2025riskychoice"]
    assert options_for(thoma) == tuple(sorted({c.response for c in thoma.choices}))


def test_thoma_option_sets_vary_between_participants() -> None:
    sets = {options_for(p) for p in iter_participants(SHIPPED_DATA / "thoma2025riskychoice")}
    assert len(sets) > 10
    assert experiment_options("thoma2025riskychoice") is None


def person(experiment: str, responses: list[str], source: str = "") -> Participant:
    choices = tuple(ChoicePoint(experiment, "1", k, r, 0, 0) for k, r in enumerate(responses))
    return Participant(experiment, "1", "", choices=choices, source=source)


def test_without_a_card_few_distinct_answers_are_options_and_many_are_free_text() -> None:
    assert options_for(person("nocard", ["b", "a", "b"])) == ("a", "b")
    assert options_for(person("nocard", [f"word{i}" for i in range(30)])) is None


def test_a_card_beside_the_data_wins_and_can_say_free_text(tmp_path: Path) -> None:
    source = f"{tmp_path / 'prompts.jsonl.zip'}!prompts.jsonl"
    card = {"experiment": "mine", "discrete": True, "options": ["x", "y", "z"]}
    (tmp_path / "data_card.yaml").write_text(yaml.safe_dump(card))
    assert options_for(person("mine", ["x"], source)) == ("x", "y", "z")
    (tmp_path / "other.yaml").write_text(
        yaml.safe_dump({**card, "experiment": "other", "discrete": False})
    )
    assert options_for(person("other", ["x"], f"{tmp_path / 'a.jsonl'}")) is None
