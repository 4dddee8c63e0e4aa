"""Settings whose value is one of a fixed set, checked when the command starts.

Hydra checks keys and types; a value outside its set (``variance.sampler=nutpy``,
``pipeline.analyses=[simulaton]``) would otherwise pass and fail, or be ignored, only
when a stage reads it, after minutes or hours of work. :func:`check_choices` names the
setting and the allowed values first.

Each set comes from the registry that owns it, imported only here and only when asked.
The variance model's sets live in modules that load PyMC (seconds at every start), so
they are spelled out below; tests/test_overrides.py checks them against their registries.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from study.errors import ConfigError


def _engines() -> Collection[str]:
    from study.engines.config import ENGINE_SCHEMAS

    return ENGINE_SCHEMAS


def _tokenizers() -> Collection[str]:
    from study.engines.openai_compat import TOKENIZERS

    return TOKENIZERS


def _tasks() -> Collection[str]:
    from study.synth.tasks import TASKS

    return TASKS


def _analyses() -> Collection[str]:
    from study.pipeline.analyses import ANALYSES

    return ANALYSES


# study.variance.families.FAMILIES, study.variance.sampling.Sampler and
# study.variance.tables.IntervalKind.
VARIANCE_FAMILIES = ("gaussian", "bernoulli", "binomial", "ordered")
VARIANCE_SAMPLERS = ("auto", "nutpie", "pymc")
VARIANCE_INTERVALS = ("eti", "hdi")

# Dotted setting -> its allowed values. A list setting has each element checked; a
# setting the config lacks (engine.tokenizer of an engine that has none) is skipped.
# (`stage` is checked by study.stages.resolve, `pipeline.models` by composing them.)
CHOICES: dict[str, Callable[[], Collection[str]]] = {
    "engine.name": _engines,
    "engine.tokenizer": _tokenizers,
    "synth.task": _tasks,
    "pipeline.analyses": _analyses,
    "variance.family": lambda: VARIANCE_FAMILIES,
    "variance.sampler": lambda: VARIANCE_SAMPLERS,
    "variance.interval": lambda: VARIANCE_INTERVALS,
}


def check_choices(cfg: Any) -> None:
    """Raise :class:`ConfigError` for the first setting of ``cfg`` (the typed config)
    outside its set, naming the setting, the value and the allowed values."""
    for key, allowed_of in CHOICES.items():
        value = _select(cfg, key)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        allowed = allowed_of()
        for item in values:
            if item not in allowed:
                known = ", ".join(sorted(allowed))
                raise ConfigError(f"{key}: {item!r} is not one of: {known}")


def _select(cfg: Any, key: str) -> Any:
    node = cfg
    for part in key.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node
