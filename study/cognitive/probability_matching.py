"""Probability matching or maximising: P(predict the majority letter) is one constant.

Each trial offers (majority, minority) (:func:`study.cognitive.trials.deck_trials`);
the participant predicts the majority letter with probability ``p_majority``. The
maximum-likelihood estimate on K trials is the share of majority predictions; 0.7 (the
deck's share) is probability matching, 1 maximising.

>>> import numpy as np
>>> from study.cognitive.trials import Trials
>>> trials = Trials((("O", "Q"), ("A", "B")), np.array([0, 1]))
>>> ProbabilityMatching().probabilities((0.75,), trials).tolist()
[[0.75, 0.25], [0.75, 0.25]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from study.cognitive.trials import Trials


class ProbabilityMatching:
    name = "probability_matching"
    names = ("p_majority",)
    # Replaced by (floor, 1 - floor) from the config when fitting.
    bounds = ((0.0, 1.0),)

    def probabilities(self, theta: Sequence[float], trials: Trials) -> np.ndarray:
        """P(majority), P(minority) at every trial, shape (trials, 2)."""
        p = float(theta[0])
        return np.tile([p, 1.0 - p], (len(trials), 1))
