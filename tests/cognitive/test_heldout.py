import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from study.cognitive import CognitiveConfig, ExperimentModelConfig, heldout_nll
from study.cognitive.trials import bandit_trials, deck_trials
from study.data.loader import SHIPPED_DATA, iter_participants
from study.data.options import options_for
from study.errors import ConfigError, StudyInputError
from tests.cognitive.helpers import participant

CONF = Path(__file__).resolve().parents[2] / "conf" / "cognitive" / "default.yaml"
BANDIT = ExperimentModelConfig(
    model="q_learning", reward_pattern="a reward", no_reward_pattern="no reward"
)


def test_the_yaml_is_the_dataclass_default():
    loaded = OmegaConf.to_object(
        OmegaConf.merge(OmegaConf.structured(CognitiveConfig), OmegaConf.load(CONF))
    )
    assert loaded == CognitiveConfig()
    assert loaded.experiments["dezfouli2019"].model == "q_learning"


@pytest.mark.parametrize(
    ("experiment", "limit", "model"),
    [
        ("dezfouli2019", 3, "q_learning"),
        ("thoma2025riskychoice", 30, "probability_matching"),
        ("busch2024_stroop", 5, "frequency"),
    ],
)
def test_shipped_participants(experiment, limit, model):
    for person in iter_participants(SHIPPED_DATA / experiment, limit=limit):
        result = heldout_nll(person, 0.5, CognitiveConfig())
        n = len(person.choices)
        assert result.model == model and result.k == n // 2
        assert result.indices == tuple(range(n // 2, n))
        assert len(result.nll) == len(result.probabilities) == n - n // 2
        assert all(math.isfinite(x) and x >= 0 for x in result.nll)
        for index, nll, probabilities in zip(
            result.indices, result.nll, result.probabilities, strict=True
        ):
            assert sum(probabilities.values()) == pytest.approx(1.0)
            assert nll == pytest.approx(-math.log(probabilities[person.choices[index].response]))
            if model != "probability_matching":
                assert tuple(probabilities) == options_for(person)
        assert bool(result.note) == (model == "frequency")  # busch is not configured


def test_q_learner_beats_chance_and_frequencies_on_dezfouli():
    # Found on the first five shipped participants at split 0.5: every Q-learner held-out
    # NLL is below log 2 (mean 0.41), and below the frequency fallback's (mean 0.64).
    people = list(iter_participants(SHIPPED_DATA / "dezfouli2019", limit=5))
    learned = [heldout_nll(p, 0.5, CognitiveConfig()).mean_nll for p in people]
    counted = [heldout_nll(p, 0.5, CognitiveConfig(experiments={})).mean_nll for p in people]
    assert max(learned) < math.log(2)
    assert np.mean(learned) < np.mean(counted) - 0.1


def test_probability_matching_on_thoma_is_between_matching_and_chance():
    # Found on all 301 children and adults at split 0.5: mean fitted P(majority) 0.66,
    # mean held-out NLL 0.66 (below log 2); the frequency fallback, blind to which
    # letter is the majority on each trial, does far worse (1.41).
    people = list(iter_participants(SHIPPED_DATA / "thoma2025riskychoice"))
    # One start: the likelihood of a single probability has one optimum.
    results = [heldout_nll(p, 0.5, CognitiveConfig(starts=1)) for p in people]
    assert 0.6 < np.mean([r.parameters["p_majority"] for r in results]) < 0.75
    assert np.mean([r.mean_nll for r in results]) < math.log(2)


def test_same_input_same_result():
    person = next(iter_participants(SHIPPED_DATA / "dezfouli2019", limit=1))
    assert heldout_nll(person, 300, CognitiveConfig()) == heldout_nll(
        person, 300, CognitiveConfig()
    )


def test_deck_letters_are_read_in_either_order():
    person = participant(
        "deck",
        [
            "Seven cards are marked 'A' and three cards are marked 'B'. You predict ",
            ".\nThree coins are marked 'C' and seven coins are marked 'D'. You predict ",
            ".\nThe deck holds seven cards marked 'E' and three cards marked 'F'. You guess ",
            ".\n",
        ],
        ["A", "C", "E"],
    )
    settings = CognitiveConfig().experiments["thoma2025riskychoice"]
    trials = deck_trials(person, settings)
    assert trials.offered == (("A", "B"), ("D", "C"), ("E", "F"))
    assert trials.chosen.tolist() == [0, 1, 0]


def _config(experiment: str, settings: ExperimentModelConfig) -> CognitiveConfig:
    return CognitiveConfig(experiments={experiment: settings})


def test_unmatched_outcome_names_file_line_participant_and_choice():
    person = participant(
        "bandit", ["", " got a reward.\n", " got no reward.\n", " got a cake.\n"], ["L", "R", "L"]
    )
    with pytest.raises(StudyInputError) as caught:
        heldout_nll(person, 1, _config("bandit", BANDIT), options=("L", "R"))
    message = str(caught.value)
    assert message.startswith("made.jsonl:3: participant 'p1', field 'text': choice 2 ('L')")
    assert "matches neither" in message
    both = replace(BANDIT, no_reward_pattern="reward")
    with pytest.raises(StudyInputError, match=r"choice 0 .*matches both"):
        heldout_nll(person, 1, _config("bandit", both), options=("L", "R"))


def test_missing_pattern_and_block_label_are_input_errors():
    person = participant("bandit", ["", " a reward\n", " no reward\n"], ["L", "R"])
    without = replace(BANDIT, reward_pattern=None)
    with pytest.raises(StudyInputError, match=r"field 'reward_pattern'.*bandit.reward_pattern"):
        heldout_nll(person, 1, _config("bandit", without), options=("L", "R"))
    blocked = replace(BANDIT, block_pattern=r"Block (\d+)")
    with pytest.raises(StudyInputError, match=r"choice 0 .*block_pattern"):
        heldout_nll(person, 1, _config("bandit", blocked), options=("L", "R"))


def test_deck_without_letters_or_with_another_answer_is_an_error():
    settings = CognitiveConfig().experiments["thoma2025riskychoice"]
    no_deck = participant("deck", ["Guess: ", ".\nGuess: ", "."], ["A", "B"])
    with pytest.raises(StudyInputError, match=r"choice 0 .*majority_pattern"):
        heldout_nll(no_deck, 1, _config("deck", settings))
    deck = "Seven cards are marked 'A' and three cards are marked 'B'. "
    odd = participant("deck", [deck, "\n" + deck, ""], ["A", "Z"])
    with pytest.raises(StudyInputError, match=r"choice 1 \('Z'\): response must be"):
        heldout_nll(odd, 1, _config("deck", settings))


def test_fallback_response_outside_options_and_free_text():
    person = participant("unknown", ["", " then ", " then ", ""], ["x", "y", "x"])
    result = heldout_nll(person, 2, CognitiveConfig(), options=("x", "y", "z"))
    # Counts x: 1, y: 1, z: 0 of 2, add-one: 2/5, 2/5, 1/5; the held-out choice is x.
    assert result.probabilities == ({"x": 0.4, "y": 0.4, "z": 0.2},)
    assert result.nll == pytest.approx((-math.log(0.4),))
    assert "default model 'frequency'" in result.note
    with pytest.raises(StudyInputError, match=r"choice 1 \('y'\): response is not one"):
        heldout_nll(person, 2, CognitiveConfig(), options=("x", "z"))
    many = [f"answer {i}" for i in range(14)]
    free = participant("free", ["", *[" next "] * 13, ""], many)
    with pytest.raises(StudyInputError, match="no option set"):
        heldout_nll(free, 0.5, CognitiveConfig())


def test_unknown_model_is_a_config_error():
    person = participant("e", ["", " ", ""], ["a", "b"])
    with pytest.raises(ConfigError, match="'bayesian' for experiment 'e' is unknown"):
        heldout_nll(person, 1, _config("e", ExperimentModelConfig(model="bayesian")))


def test_bandit_outcomes_and_blocks_read_from_the_shipped_text():
    person = next(iter_participants(SHIPPED_DATA / "dezfouli2019", limit=1))
    trials = bandit_trials(person, ("L", "R"), CognitiveConfig().experiments["dezfouli2019"])
    assert trials.rewards is not None and trials.blocks is not None
    assert trials.rewards.sum() == person.transcript.count("received a food reward")
    assert len(trials) - trials.rewards.sum() == person.transcript.count("received no food")
    assert trials.blocks[0] == "1" and trials.blocks[-1] == "12"
    assert [trials.offered[0][c] for c in trials.chosen[:3]] == ["R", "L", "L"]
