"""Simulated choices from known parameters, written independently of the models."""

from __future__ import annotations

import numpy as np

from study.cognitive.trials import Trials
from study.records import ChoicePoint, Participant


def simulate_bandit(alpha: float, beta: float, kappa: float, trials: int, seed: int) -> Trials:
    """A two-armed bandit whose better arm (reward 0.8 vs 0.2) swaps every 50 trials,
    played by a Q-learner with perseveration."""
    rng = np.random.default_rng(seed)
    q = np.zeros(2)
    previous = None
    chosen, rewards = [], []
    for t in range(trials):
        stickiness = np.zeros(2)
        if previous is not None:
            stickiness[previous] = kappa
        logit = beta * (q[1] - q[0]) + stickiness[1] - stickiness[0]
        arm = int(rng.random() < 1.0 / (1.0 + np.exp(-logit)))
        better = (t // 50) % 2
        reward = float(rng.random() < (0.8 if arm == better else 0.2))
        q[arm] += alpha * (reward - q[arm])
        chosen.append(arm)
        rewards.append(reward)
        previous = arm
    return Trials((("L", "R"),) * trials, np.array(chosen), np.array(rewards))


def participant(experiment: str, pieces: list[str], responses: list[str]) -> Participant:
    """A participant whose transcript is ``pieces[0] <<r0>> pieces[1] <<r1>> ...``
    (``pieces`` has one more entry than ``responses``)."""
    text, choices = "", []
    for k, response in enumerate(responses):
        text += pieces[k] + "<<"
        choices.append(
            ChoicePoint(experiment, "p1", k, response, len(text), len(text) + len(response))
        )
        text += response + ">>"
    text += pieces[-1]
    return Participant(experiment, "p1", text, choices=tuple(choices), source="made.jsonl", line=3)
