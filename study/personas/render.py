"""Render the prompt a model reads for one (participant, persona condition)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from study.errors import ConfigError
from study.personas.conditions import PersonaCondition
from study.personas.config import PersonaTextsConfig
from study.personas.derangement import assign_donors
from study.personas.preamble import render_preamble
from study.records import Participant

# Between a persona preamble and the transcript, as between the preamble's own pairs.
SEPARATOR = "\n\n"

ChatTemplate = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    experiment: str
    participant: str
    # The condition's label: none, own, other, assistant or archetype:NAME.
    persona: str
    # Whose profile the preamble shows (`own`: the participant; `other`: the donor).
    persona_source: str
    prompt: str
    # Spans of the human responses inside ``prompt`` (the transcript's choice points,
    # shifted by the length of what precedes the transcript).
    spans: tuple[tuple[int, int], ...]
    # The human responses, in order (``prompt[s:e]`` for each span).
    responses: tuple[str, ...]
    # Length of the leading chat-template text (`assistant`), whose special-token
    # markup engines read as special tokens; 0 for every other condition.
    template_chars: int = 0
    # Which of the participant's sessions (transcripts) this prompt is built on.
    session: int = 0


def _head(
    participant: Participant,
    condition: PersonaCondition,
    texts: PersonaTextsConfig,
    donor: Participant | None,
    chat: ChatTemplate | None,
) -> tuple[str, str]:
    """What precedes the transcript, and whose profile it shows."""
    if condition.kind == "none":
        return "", ""
    if condition.kind == "own":
        preamble = render_preamble(participant.profile, texts.questions)
        return (preamble + SEPARATOR if preamble else ""), participant.participant
    if condition.kind == "other":
        if donor is None:
            raise ValueError("the `other` condition needs a donor (see assign_donors)")
        preamble = render_preamble(donor.profile, texts.questions)
        return (preamble + SEPARATOR if preamble else ""), donor.participant
    if condition.kind == "archetype":
        return texts.archetypes[condition.name].rstrip() + SEPARATOR, ""
    if condition.kind == "assistant":
        framed = chat(texts.assistant_request) if chat is not None else None
        if framed is None:
            raise ConfigError(
                "persona 'assistant' needs a model with a chat template; this one has none"
            )
        return framed, ""
    raise ValueError(f"unhandled persona kind {condition.kind!r}")


def render(
    participant: Participant,
    condition: PersonaCondition,
    texts: PersonaTextsConfig,
    *,
    donor: Participant | None = None,
    chat: ChatTemplate | None = None,
) -> RenderedPrompt:
    """The prompt of ``participant`` under ``condition``.

    >>> from study.records import ChoicePoint, Participant
    >>> person = Participant("e", "1", "Go <<L>>", choices=(ChoicePoint("e", "1", 0, "L", 5, 6),))
    >>> texts = PersonaTextsConfig(archetypes={"bold": "I love risks."})
    >>> rendered = render(person, PersonaCondition("archetype", "bold"), texts)
    >>> start, end = rendered.spans[0]
    >>> rendered.prompt[start:end], rendered.persona
    ('L', 'archetype:bold')
    """
    head, source = _head(participant, condition, texts, donor, chat)
    shift = len(head)
    spans = tuple((c.start + shift, c.end + shift) for c in participant.choices)
    return RenderedPrompt(
        experiment=participant.experiment,
        participant=participant.participant,
        session=participant.session,
        persona=condition.label,
        persona_source=source,
        prompt=head + participant.transcript,
        spans=spans,
        responses=tuple(c.response for c in participant.choices),
        template_chars=shift if condition.kind == "assistant" else 0,
    )


def render_all(
    participants: Sequence[Participant],
    conditions: Iterable[PersonaCondition],
    texts: PersonaTextsConfig,
    *,
    seed: int,
    chat: ChatTemplate | None = None,
) -> list[RenderedPrompt]:
    """Every (participant, condition) prompt, participant-major (all conditions of the
    first participant, then the next), so progress counts whole participants."""
    conditions = list(conditions)
    needs_donors = any(c.kind == "other" for c in conditions)
    donors = assign_donors(participants, seed) if needs_donors else {}
    return [
        render(person, condition, texts, donor=donors.get(person.key), chat=chat)
        for person in participants
        for condition in conditions
    ]
