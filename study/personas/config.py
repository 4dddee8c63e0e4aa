"""Configuration of the persona texts (Hydra structured config, ``conf/persona_texts/``).

The group is named ``persona_texts`` rather than ``personas`` because ``personas`` is the
top-level list of conditions (``personas=[none,own,other]``); a config group of the same
name would swallow that override.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PersonaTextsConfig:
    # Profile field -> the interviewer's question. Only these fields enter a preamble,
    # in this order; a field the participant lacks (or has as null) is skipped. Fields
    # such as the experimental condition stay out by not being listed.
    questions: dict[str, str] = field(default_factory=dict)
    # archetype NAME -> the persona text placed before the transcript.
    archetypes: dict[str, str] = field(default_factory=dict)
    # The one user message of the `assistant` condition, rendered with the model's chat
    # template; the transcript follows as the assistant's reply.
    assistant_request: str = "Please take part in the following experiment."
