"""C6's activations engine: residual-stream states at each choice point of a rendered
prompt, from the scoring engines' own weights (study.activations.engine), kept in a
content-keyed store (study.activations.store)."""

from study.activations.config import ActivationsConfig
from study.activations.engine import ActivationsEngine, activations
from study.activations.records import ActivationRequest, ActivationResult
from study.activations.store import ActivationStore, activation_key

__all__ = [
    "ActivationRequest",
    "ActivationResult",
    "ActivationStore",
    "ActivationsConfig",
    "ActivationsEngine",
    "activation_key",
    "activations",
]
