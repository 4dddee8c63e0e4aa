"""A Q-learner for bandit tasks: learning rate, inverse temperature, perseveration.

Each option's value starts at 0 (and again at every new block when blocks are read).
After choosing option ``c`` with reward ``r`` (1 or 0): ``Q[c] += alpha * (r - Q[c])``.
The choice is a softmax over ``beta * Q[j] + kappa * [j == previous choice]``; the
first choice has no previous one. Predictions are one step ahead on the observed
history, as the language model's are (teacher forcing).

>>> import numpy as np
>>> from study.cognitive.trials import Trials
>>> trials = Trials((("L", "R"),) * 2, np.array([0, 0]), np.array([1.0, 0.0]))
>>> QLearning().probabilities((0.5, 2.0, 0.0), trials).round(3).tolist()
[[0.5, 0.5], [0.731, 0.269]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from study.cognitive.trials import Trials


class QLearning:
    name = "q_learning"
    names = ("alpha", "beta", "kappa")
    # beta * (Q difference) spans at most 20 logits: beyond that choices are
    # deterministic and the likelihood is flat. |kappa| <= 5 likewise.
    bounds = ((0.0, 1.0), (0.0, 20.0), (-5.0, 5.0))

    def probabilities(self, theta: Sequence[float], trials: Trials) -> np.ndarray:
        """P(each offered option) at every trial, shape (trials, options)."""
        alpha, beta, kappa = (float(x) for x in theta)
        if trials.rewards is None:
            raise ValueError("q_learning needs each trial's reward (study.cognitive.trials)")
        n_options = len(trials.offered[0]) if len(trials) else 0
        out = np.empty((len(trials), n_options))
        q = [0.0] * n_options
        previous = -1
        block = None
        chosen = trials.chosen.tolist()
        rewards = trials.rewards.tolist()
        for t in range(len(chosen)):
            if trials.blocks is not None and trials.blocks[t] != block:
                block, q = trials.blocks[t], [0.0] * n_options
            logits = [beta * q[j] + (kappa if j == previous else 0.0) for j in range(n_options)]
            top = max(logits)
            weights = [math.exp(x - top) for x in logits]
            total = sum(weights)
            out[t] = [w / total for w in weights]
            c = chosen[t]
            q[c] += alpha * (rewards[t] - q[c])
            previous = c
        return out
