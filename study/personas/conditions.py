"""Parsing persona condition names: none, own, other, assistant, archetype:NAME."""

from __future__ import annotations

from dataclasses import dataclass

from study.errors import ConfigError
from study.personas.config import PersonaTextsConfig

SIMPLE_KINDS = ("none", "own", "other", "assistant")


@dataclass(frozen=True, slots=True)
class PersonaCondition:
    kind: str
    # The archetype's name (kind "archetype"); empty otherwise.
    name: str = ""

    @property
    def label(self) -> str:
        """The condition as written in config and outputs, e.g. ``archetype:cautious``."""
        return f"archetype:{self.name}" if self.kind == "archetype" else self.kind


def parse_condition(text: str, texts: PersonaTextsConfig) -> PersonaCondition:
    """Read one entry of ``personas=[...]``.

    >>> texts = PersonaTextsConfig(archetypes={"cautious": "I avoid risks."})
    >>> parse_condition("archetype:cautious", texts).label
    'archetype:cautious'
    >>> parse_condition("self", texts)
    Traceback (most recent call last):
    ...
    study.errors.ConfigError: unknown persona condition 'self'; use none, own, other, \
assistant or archetype:NAME
    """
    text = text.strip()
    if text in SIMPLE_KINDS:
        return PersonaCondition(text)
    if text.startswith("archetype:"):
        name = text.removeprefix("archetype:")
        if name not in texts.archetypes:
            known = ", ".join(sorted(texts.archetypes)) or "none configured"
            raise ConfigError(f"unknown archetype {name!r} in personas; known: {known}")
        return PersonaCondition("archetype", name)
    raise ConfigError(
        f"unknown persona condition {text!r}; use none, own, other, assistant or archetype:NAME"
    )
