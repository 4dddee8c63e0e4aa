"""The stages the command line can run, by name.

Each entry is ``module:function`` taking the typed :class:`study.config.Config`; modules
import lazily, so ``python -m study stage=data`` never loads PyMC or llama.cpp.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

STAGES: dict[str, str] = {
    "data": "study.data.stage:run",
    "synth": "study.synth.stage:run",
    "cards": "study.data.stage:run_cards",
    "respond": "study.respond.stage:run",
    "pipeline": "study.pipeline.stage:run",
    "variance": "study.variance.stage:run",
}


def resolve(name: str) -> Callable[[Any], Any]:
    from study.errors import ConfigError

    try:
        target = STAGES[name]
    except KeyError:
        known = ", ".join(sorted(STAGES))
        raise ConfigError(f"unknown stage {name!r}; known stages: {known}") from None
    module_name, func_name = target.split(":")
    return getattr(importlib.import_module(module_name), func_name)
