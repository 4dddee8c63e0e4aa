"""C5's baseline without a language model: a cognitive model fitted per participant on
the first K choices by maximum likelihood and scored on the held-out rest (STUDY.md,
"C5: personas fitted at test time").

A Q-learner for bandits (:mod:`study.cognitive.q_learning`), a constant P(majority)
for probability matching (:mod:`study.cognitive.probability_matching`) and, for any
other task, the participant's smoothed response frequencies
(:mod:`study.cognitive.frequency`). Which experiment gets which model, and the text
patterns the models read, are config (:mod:`study.cognitive.config`). The split at K
(:mod:`study.fitted.split`) is shared with the language-model side.

>>> from study.cognitive import CognitiveConfig, heldout_nll
"""

from study.cognitive.config import CognitiveConfig, ExperimentModelConfig
from study.cognitive.heldout import MODELS, CognitiveResult, heldout_nll, model_for

__all__ = [
    "MODELS",
    "CognitiveConfig",
    "CognitiveResult",
    "ExperimentModelConfig",
    "heldout_nll",
    "model_for",
]
