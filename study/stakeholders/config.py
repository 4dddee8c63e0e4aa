"""Configuration of C7 (``conf/stakeholders/``): how personas are extracted and how they
judge, as data. :func:`check` names the first setting the analysis cannot run with."""

from __future__ import annotations

from dataclasses import dataclass, field

from study.errors import ConfigError

# The persona sources, in the tables' order: extracted from the documents, written
# without them, and no persona at all (a plain judge).
SOURCES = ("documents", "generic", "none")
# The sources whose personas sit on a panel and debate (the plain judge has no panel).
PANEL_SOURCES = SOURCES[:2]
# What an extraction asks, field by field, in this order (each field is generated after
# the ones before it, so a perspective follows its name).
FIELDS = ("name", "perspective", "dimension", "evidence")


@dataclass
class StandIn:
    """A stakeholder the simulated engine "writes" (it echoes what the request carries),
    so that the whole chain runs without a language model."""

    name: str = ""
    perspective: str = ""
    dimension: str = ""


@dataclass
class StakeholderPrompts:
    """Prompt templates; fields are written ``{name}`` and replaced as plain text."""

    # The extraction's reading: {documents}, then the stakeholders listed so far.
    documents_header: str = ""
    # The same without documents: what a generic persona is written from.
    generic_header: str = ""
    # One listed stakeholder (in the header, after the first): {number}, {name},
    # {perspective}, {dimension}.
    listed: str = ""
    # The entry being written: {number}; then one label per field, each followed by the
    # generated value (a span between << and >>).
    entry: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # A judge's persona, placed first in the judging prompt: {name}, {perspective},
    # {dimension}.
    persona: str = ""
    # The debate: a moderator's turn listing the other panelists' judgements of the last
    # round ({round}, {judgements}), one `judgement` line each ({name}, {probabilities}).
    moderator: str = ""
    judgement: str = ""
    # The task: {context} is the transcript before the response, whose span follows.
    judge: str = ""


@dataclass
class StakeholdersConfig:
    # Personas per source (documents, generic) and experiment.
    count: int = 3
    # A folder of documents (.md and .txt files, read in name order) for every
    # experiment; null: each experiment's own README, data card and task instructions.
    documents: str | None = None
    # The documents shown to the extracting model are cut to this many characters.
    max_document_chars: int = 6000
    # Persons per experiment whose choice points are judged (the first ones); null: all.
    persons: int | None = None
    # Choice points judged per person, spread evenly over the person's choices.
    choices: int = 4
    # Debate rounds after the independent judgements of round 0.
    rounds: int = 1
    # A judge sees the last `context_chars` characters of the transcript before the
    # response (cut at a line start).
    context_chars: int = 1500
    # Sampled judgements per (judge, item, round), drawn from the judgement with their own
    # streams (no engine call): the run factor of the binomial decomposition; 0: none.
    runs: int = 10
    # Extraction: tokens per field, temperature, and attempts per persona when a name
    # repeats an earlier one or comes out empty.
    max_tokens: int = 24
    temperature: float = 0.7
    max_attempts: int = 3
    # Region of practical equivalence of the alignment gain, in nats per judgement.
    rope: float = 0.02
    # Debate collapses the persona x item variance when its ratio (last round over
    # round 0) lies wholly below this.
    collapse_ratio: float = 0.5
    # Fewer persons than this: every verdict is "undecided at this size".
    min_persons: int = 5
    prob: float = 0.94
    bootstrap: int = 2000
    prompts: StakeholderPrompts = field(default_factory=StakeholderPrompts)
    standins: list[StandIn] = field(default_factory=list)


def check(cfg: StakeholdersConfig) -> StakeholdersConfig:
    """Raise :class:`ConfigError` naming the first bad setting; return ``cfg``.

    >>> check(StakeholdersConfig(count=0))
    Traceback (most recent call last):
    study.errors.ConfigError: stakeholders.count must be at least 1, got 0
    """
    least = {
        "count": 1,
        "max_document_chars": 1,
        "choices": 1,
        "rounds": 0,
        "runs": 0,
        "context_chars": 1,
        "max_tokens": 1,
        "max_attempts": 1,
        "min_persons": 1,
        "bootstrap": 10,
    }
    for name, minimum in least.items():
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"stakeholders.{name} must be at least {minimum}, got {value!r}")
    if cfg.persons is not None and (isinstance(cfg.persons, bool) or cfg.persons < 1):
        raise ConfigError(f"stakeholders.persons must be null or >= 1, got {cfg.persons!r}")
    if not cfg.temperature > 0:
        raise ConfigError(f"stakeholders.temperature must be positive, got {cfg.temperature}")
    if not 0 < cfg.prob < 1:
        raise ConfigError(f"stakeholders.prob must lie in (0, 1), got {cfg.prob}")
    if cfg.rope < 0 or cfg.collapse_ratio <= 0:
        raise ConfigError("stakeholders.rope must be >= 0 and collapse_ratio > 0")
    prompts = cfg.prompts
    needs = {
        "documents_header": ["{documents}"],
        "entry": ["{number}"],
        "persona": ["{name}"],
        "moderator": ["{judgements}"],
        "judgement": ["{name}", "{probabilities}"],
        "judge": ["{context}"],
    }
    for name, fields in needs.items():
        text = getattr(prompts, name)
        for wanted in fields:
            if wanted not in text:
                raise ConfigError(f"stakeholders.prompts.{name} must contain {wanted}")
    missing = [f for f in FIELDS if not prompts.labels.get(f)]
    if missing:
        raise ConfigError(f"stakeholders.prompts.labels lacks {missing} (needs {list(FIELDS)})")
    if not cfg.standins:
        raise ConfigError("stakeholders.standins: give at least one (the simulated engine's)")
    return cfg
