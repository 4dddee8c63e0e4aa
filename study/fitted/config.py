"""Configuration of C5, personas fitted at test time (``conf/fitted/``): the persona
library as a grid of sentences, and where each participant's choices are split."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from study.errors import ConfigError
from study.personas.grid import candidate_name


@dataclass
class GeneratedConfig:
    """The PersonaAgent loop: write a description from the first K choices, refine it
    ``rounds`` times against its worst-predicted first-K choices."""

    # Off: no generated personas (no engine generates, no generated_* conditions).
    enabled: bool = True
    # Refinement rounds after the first write (0: the first write only).
    rounds: int = 1
    # How many of the worst-predicted first-K choices a refinement shows.
    batch: int = 3
    # Tokens one description may take, and the sampling temperature.
    max_tokens: int = 60
    temperature: float = 0.7
    # Persons per experiment who get a generated persona (the first in the data's
    # order); null: everybody. The quick profile cuts it to keep the CPU run short.
    persons: int | None = None
    # The first-K excerpt shown to the model keeps its last ``excerpt_chars``
    # characters (cut at a line start), and each listed error its last
    # ``context_chars`` characters of context.
    excerpt_chars: int = 3000
    context_chars: int = 200
    # The prompts, as data in conf/fitted/default.yaml. Fields are written ``{name}``
    # and replaced as plain text (transcripts hold braces of their own); the description
    # is sampled in a span appended after the prompt (``<<`` ... ``>>``), so any engine
    # that samples can write it. ``write`` has {excerpt}; ``refine`` {description} and
    # {errors} (and may use {excerpt}); ``error``, one listed choice, {context} and
    # {response}.
    write: str = ""
    refine: str = ""
    error: str = ""


def check_generated(cfg: GeneratedConfig) -> None:
    """Raise :class:`ConfigError`, naming the field, for a value the loop cannot run.

    >>> check_generated(GeneratedConfig(write="{excerpt}", refine="{description} {errors}",
    ...                                 error="{context} {response}"))
    >>> check_generated(GeneratedConfig(batch=0))
    Traceback (most recent call last):
    ...
    study.errors.ConfigError: fitted.generated.batch must be at least 1, got 0
    """
    minimum = {"rounds": 0, "batch": 1, "max_tokens": 1, "excerpt_chars": 1, "context_chars": 0}
    for name, least in minimum.items():
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"fitted.generated.{name} must be at least {least}, got {value!r}")
    if cfg.persons is not None and (isinstance(cfg.persons, bool) or cfg.persons < 1):
        raise ConfigError(f"fitted.generated.persons must be null or >= 1, got {cfg.persons!r}")
    if not cfg.temperature > 0:
        raise ConfigError(f"fitted.generated.temperature must be positive, got {cfg.temperature}")
    fields = {
        "write": ("{excerpt}",),
        "refine": ("{description}", "{errors}"),
        "error": ("{context}", "{response}"),
    }
    for name, needed in fields.items():
        text = getattr(cfg, name)
        missing = [f for f in needed if f not in text]
        if missing:
            raise ConfigError(f"fitted.generated.{name} must contain {', '.join(missing)}")


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
    # Generated personas (the PersonaAgent loop; study.fitted.generated).
    generated: GeneratedConfig = field(default_factory=GeneratedConfig)


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
