"""Configuration of the C5 cognitive-model baseline (``conf/cognitive/``).

Which model each experiment gets, and the text patterns a model reads from the trials,
are data, so a user can add an experiment or correct a pattern without touching code.
Models (:data:`study.cognitive.models.MODELS`):

- ``q_learning``: bandit tasks; reads each choice's outcome from the text after the
  choice (``reward_pattern`` / ``no_reward_pattern``, Python regular expressions, searched
  in the text between the choice's ``>>`` and the next ``<<``) and, optionally, a block
  label from the text before it (``block_pattern``, its first group; the values are
  reset to zero when the label changes).
- ``probability_matching``: two-letter predictions of a draw from a deck; reads which
  letter is the majority and which the minority on each trial (``majority_pattern`` /
  ``minority_pattern``, first group, searched in the text between the previous choice's
  ``>>`` and this choice's ``<<``).
- ``frequency``: the participant's response frequencies on the first K choices; reads
  nothing but the responses. The fallback for every experiment not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExperimentModelConfig:
    # q_learning, probability_matching or frequency.
    model: str = "frequency"
    # q_learning: a rewarded and an unrewarded outcome (exactly one must match).
    reward_pattern: str | None = None
    no_reward_pattern: str | None = None
    # q_learning, optional: a block label; values reset when it changes (None: never).
    block_pattern: str | None = None
    # probability_matching: the majority and the minority letter of the trial.
    majority_pattern: str | None = None
    minority_pattern: str | None = None


def _shipped() -> dict[str, ExperimentModelConfig]:
    # Kept equal to conf/cognitive/default.yaml (a test checks it).
    deck_majority = r"(?i)\bseven \w+ (?:are )?marked '([^']+)'"
    deck_minority = r"(?i)\bthree \w+ (?:are )?marked '([^']+)'"
    return {
        "dezfouli2019": ExperimentModelConfig(
            model="q_learning",
            reward_pattern=r"received a food reward",
            no_reward_pattern=r"received no food reward",
            # Reward probabilities are redrawn every block; resetting fitted the first
            # eight shipped participants better (mean held-out NLL 0.41 vs 0.43).
            block_pattern=r"Block (\d+):",
        ),
        "thoma2025riskychoice": ExperimentModelConfig(
            model="probability_matching",
            majority_pattern=deck_majority,
            minority_pattern=deck_minority,
        ),
        "synth_two_armed_bandit": ExperimentModelConfig(
            model="q_learning",
            reward_pattern=r"won a point",
            no_reward_pattern=r"won nothing",
            block_pattern=r"Block (\d+):",
        ),
        "synth_probability_matching": ExperimentModelConfig(
            model="probability_matching",
            majority_pattern=deck_majority,
            minority_pattern=deck_minority,
        ),
    }


@dataclass
class CognitiveConfig:
    # The model of an experiment not listed under `experiments`.
    default_model: str = "frequency"
    # Per experiment (the folder name, as study.records.Participant.experiment).
    experiments: dict[str, ExperimentModelConfig] = field(default_factory=_shipped)
    # Maximum likelihood: starting points per fit (the bounds' centre, then uniform
    # draws inside the bounds from `seed`); the best optimum is kept.
    starts: int = 4
    seed: int = 0
    # frequency: pseudocount added to every option's count (1: Laplace's add-one rule).
    pseudocount: float = 1.0
    # probability_matching: P(majority) is fitted inside [floor, 1 - floor], so that a
    # participant who always chose one letter on the first K keeps a finite held-out NLL.
    probability_floor: float = 0.01
