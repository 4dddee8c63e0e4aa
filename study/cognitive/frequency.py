"""The fallback for any task: the participant's own response frequencies.

Fitted on the first K choices with a pseudocount (Laplace's add-one rule by default):
``P(option) = (count + c) / (K + c * n_options)`` over the whole option set, so an option
the participant did not use in the first K keeps a finite held-out NLL. It is the
posterior mean under a symmetric Dirichlet(c) prior, not a plain maximum-likelihood fit
(which would give unseen options probability 0).

>>> import numpy as np
>>> from study.cognitive.trials import Trials
>>> trials = Trials((("down", "left", "right"),) * 3, np.array([0, 0, 1]))
>>> [round(p, 3) for p in smoothed_frequencies(trials, 1.0)]
[0.5, 0.333, 0.167]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from study.cognitive.trials import Trials


def smoothed_frequencies(trials: Trials, pseudocount: float) -> tuple[float, ...]:
    """Each option's smoothed share of ``trials``' choices (all trials offer the same
    options)."""
    n_options = len(trials.offered[0])
    counts = np.bincount(trials.chosen, minlength=n_options).astype(float)
    shares = (counts + pseudocount) / (counts.sum() + pseudocount * n_options)
    return tuple(float(x) for x in shares)


class Frequency:
    name = "frequency"

    def probabilities(self, theta: Sequence[float], trials: Trials) -> np.ndarray:
        """The same shares ``theta`` (one per option) at every trial."""
        return np.tile(np.asarray(theta, dtype=float), (len(trials), 1))
