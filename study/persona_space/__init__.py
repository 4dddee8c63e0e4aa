"""C6: persona space, the assistant axis, drift and behavioural washout, from plain
arrays (STUDY.md, "C6: persona space and the assistant axis").

- :func:`activation_set`: checked activations ``[rows, layers, hidden]`` with their keys;
- :func:`axis_table`: per layer, PCA of the condition means, the assistant axis, its
  cosine with PC1 against a null of random splits, split-half cosine, held-out AUROC;
- :func:`drift`: projections on the axis against the choice index, a slope per condition;
- :func:`washout`: ``|NLL_q - NLL_none|`` against ``log(k + 1)``, a slope per condition;
- :mod:`study.persona_space.config`: the role texts and settings.

The how-to is docs/sections/persona_space.md.
"""

from study.persona_space.axis import AXIS_COLUMNS, AxisResult, axis_table
from study.persona_space.config import PersonaSpaceConfig, load_config, role_personas
from study.persona_space.drift import DriftResult, drift
from study.persona_space.records import ActivationSet, activation_set
from study.persona_space.slopes import SLOPE_COLUMNS, SlopeResult
from study.persona_space.washout import washout

__all__ = [
    "AXIS_COLUMNS",
    "SLOPE_COLUMNS",
    "ActivationSet",
    "AxisResult",
    "DriftResult",
    "PersonaSpaceConfig",
    "SlopeResult",
    "activation_set",
    "axis_table",
    "drift",
    "load_config",
    "role_personas",
    "washout",
]
