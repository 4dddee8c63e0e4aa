"""Configuration of C5, personas fitted at test time (``conf/fitted/``): the persona
library as a grid of sentences, and where each participant's choices are split."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from study.errors import ConfigError
from study.personas.grid import candidate_name


@dataclass
class FittedConfig:
    # The text of one candidate: ``{sentences}`` is replaced by its levels' sentences,
    # in the dimensions' order, joined with spaces.
    template: str = "Interviewer: How would you describe yourself?\nInterviewee: {sentences}\n\n"
    # dimension -> level -> sentence; every combination of one level per dimension is a
    # candidate.
    dimensions: dict[str, dict[str, str]] = field(default_factory=dict)
    # A count of choices (>= 1) or a fraction of them in (0, 1).
    split: float = 0.5


def library(cfg: FittedConfig) -> dict[str, str]:
    """Every candidate persona of the grid, name -> text, in the grid's order.

    >>> grid = FittedConfig(template="I am: {sentences}",
    ...     dimensions={"risk": {"averse": "Safe.", "seeking": "Bold."}, "pace": {"slow": "Slow."}})
    >>> library(grid)
    {'risk=averse,pace=slow': 'I am: Safe. Slow.', 'risk=seeking,pace=slow': 'I am: Bold. Slow.'}
    """
    if not cfg.dimensions or any(not levels for levels in cfg.dimensions.values()):
        raise ConfigError("fitted.dimensions: give at least one dimension, each with a level")
    if "{sentences}" not in cfg.template:
        raise ConfigError("fitted.template must contain {sentences}")
    names = list(cfg.dimensions)
    for dimension in names:
        for name in (dimension, *cfg.dimensions[dimension]):
            if not name or "," in name or "=" in name:
                # A candidate's name is DIM=LEVEL,... (study.personas.grid).
                raise ConfigError(
                    f"fitted.dimensions: {name!r} may not be empty or contain ',' or '='"
                )
    candidates = {}
    for levels in itertools.product(*(cfg.dimensions[n].items() for n in names)):
        name = candidate_name(
            {dimension: level for dimension, (level, _) in zip(names, levels, strict=True)}
        )
        sentences = " ".join(sentence.strip() for _, sentence in levels)
        candidates[name] = cfg.template.replace("{sentences}", sentences)
    return candidates
