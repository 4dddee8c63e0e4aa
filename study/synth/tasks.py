"""Cognitive models that generate Psych-201-shaped transcripts with known parameters.

``probability_matching`` is shaped like thoma2025riskychoice: ten guesses about a card
drawn from a deck of seven cards of one letter and three of another. A person guesses
the majority letter with probability ``p_max``; ``logit(p_max) = 0.8 + eta + 0.5 e``
(0.7 is probability matching, 1 is maximising).

``two_armed_bandit`` is shaped like dezfouli2019: blocks of button presses, each button
rewarded with its own probability (0.8/0.2, 0.7/0.3 or 0.6/0.4, the better button
drawn per block). A person learns by Q-learning with learning rate ``alpha`` (not
profile-driven) and chooses by softmax with inverse temperature
``log(beta) = log 4 + eta + 0.3 e``.

``eta`` is the profile's contribution (:mod:`study.synth.profiles`), ``e`` standard
normal person noise. Option labels are two distinct capital letters per person.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np

LETTERS = np.array(list(string.ascii_uppercase))


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function (numpy's own, to spare the command line importing scipy)."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Simulated:
    """Transcripts, reaction times and true parameters of N simulated people."""

    transcripts: list[str]
    # Per person the RT list as the file stores it (strings), or None when not given.
    rts: list[list[str]] | None
    # True person-level quantities for truth.parquet (one array of length N each).
    truth: dict[str, np.ndarray]
    # Design facts for truth.json (same for everyone).
    design: dict[str, object] = field(default_factory=dict)


def person_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """Two distinct capital letters per person (N x 2), uniformly at random."""
    return LETTERS[np.argsort(rng.random((n, LETTERS.size)), axis=1)[:, :2]]


class ProbabilityMatching:
    name = "probability_matching"
    default_trials = 10
    parameter = "p_max"
    link = "logit"
    intercept = 0.8
    person_sd = 0.5
    intro = (
        "You will play a guessing game with a deck of ten cards. Each card carries one of "
        "two letters. Before every draw you are told how many cards carry each letter; then "
        "the deck is shuffled and one card is drawn at random. Guess the letter on the drawn "
        "card. Only at the end do you learn how many of your guesses were right.\n"
    )
    trial = (
        "The deck holds seven cards marked '{major}' and three cards marked '{minor}'. "
        "One card is drawn. Is it '{first}' or '{second}'? You guess <<{choice}>>.\n"
    )

    def simulate(self, rng: np.random.Generator, eta: np.ndarray, trials: int) -> Simulated:
        n = eta.size
        p_max = expit(self.intercept + eta + self.person_sd * rng.standard_normal(n))
        labels = person_labels(rng, n)  # column 0: the majority letter
        majority_first = rng.random(n) < 0.5
        maximise = rng.random((n, trials)) < p_max[:, None]
        transcripts = []
        for i in range(n):
            major, minor = labels[i]
            first, second = (major, minor) if majority_first[i] else (minor, major)
            lines = [
                self.trial.format(
                    major=major,
                    minor=minor,
                    first=first,
                    second=second,
                    choice=major if maximise[i, t] else minor,
                )
                for t in range(trials)
            ]
            transcripts.append(self.intro + "".join(lines))
        truth = {
            "p_max": p_max,
            "majority_option": labels[:, 0],
            "minority_option": labels[:, 1],
        }
        return Simulated(transcripts, None, truth, {"deck": {"majority": 7, "minority": 3}})


class TwoArmedBandit:
    name = "two_armed_bandit"
    default_trials = 1200
    parameter = "beta"
    link = "log"
    intercept = float(np.log(4.0))
    person_sd = 0.3
    blocks = 12
    better_probabilities = (0.8, 0.7, 0.6)
    intro = (
        "There are two buttons, {a} and {b}. A press on a button may win a point; each button "
        "wins with its own chance, and the chances change from one block to the next. The game "
        "has {blocks} blocks.\n\n"
    )
    trial = "Block {block}: You pressed <<{choice}>> and {outcome}.\n"
    outcomes = ("won nothing", "won a point")

    def simulate(self, rng: np.random.Generator, eta: np.ndarray, trials: int) -> Simulated:
        n = eta.size
        blocks = min(self.blocks, trials)
        sizes = [len(chunk) for chunk in np.array_split(np.arange(trials), blocks)]
        block_of = np.repeat(np.arange(blocks), sizes)
        beta = np.exp(self.intercept + eta + self.person_sd * rng.standard_normal(n))
        alpha = expit(-0.5 + 0.5 * rng.standard_normal(n))
        labels = person_labels(rng, n)
        p_better = rng.choice(np.array(self.better_probabilities), size=(n, blocks))
        better = rng.integers(0, 2, size=(n, blocks))
        choices = np.zeros((n, trials), dtype=np.int8)
        rewards = np.zeros((n, trials), dtype=np.int8)
        q = np.zeros((n, 2))
        rows = np.arange(n)
        for t in range(trials):
            b = block_of[t]
            if t == 0 or block_of[t - 1] != b:
                q[:] = 0.0  # a new block: what was learned no longer applies
            chose_1 = rng.random(n) < expit(beta * (q[:, 1] - q[:, 0]))
            arm = chose_1.astype(int)
            p_reward = np.where(arm == better[:, b], p_better[:, b], 1.0 - p_better[:, b])
            reward = rng.random(n) < p_reward
            q[rows, arm] += alpha * (reward - q[rows, arm])
            choices[:, t], rewards[:, t] = arm, reward
        rts = np.round(np.exp(rng.normal(6.0, 0.35, size=(n, trials)))).astype(int)
        transcripts = []
        for i in range(n):
            body = "".join(
                self.trial.format(
                    block=block_of[t] + 1,
                    choice=labels[i, choices[i, t]],
                    outcome=self.outcomes[rewards[i, t]],
                )
                for t in range(trials)
            )
            transcripts.append(
                self.intro.format(a=labels[i, 0], b=labels[i, 1], blocks=blocks) + body
            )
        truth = {
            "beta": beta,
            "alpha": alpha,
            "option_0": labels[:, 0],
            "option_1": labels[:, 1],
            # The better button's label in each block, one letter per block.
            "better_by_block": np.array(
                ["".join(labels[i, better[i]]) for i in range(n)], dtype=object
            ),
        }
        return Simulated(
            transcripts,
            [[str(v) for v in row] for row in rts],
            truth,
            {
                "blocks": blocks,
                "block_sizes": sizes,
                "better_probabilities": list(self.better_probabilities),
            },
        )


TASKS = {task.name: task for task in (ProbabilityMatching(), TwoArmedBandit())}
