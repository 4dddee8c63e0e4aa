"""Render the prompt a model reads for one (participant, persona condition).

Every prompt, whatever its condition, is cut to the preamble config's
``max_prompt_chars`` (:mod:`study.personas.truncate`). :func:`render_all` decides which
prompts exist: `own` and `other` only for participants with a non-empty preamble, and
`other` only for those with a donor whose preamble differs
(:mod:`study.personas.derangement`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from study.errors import ConfigError
from study.personas.conditions import PersonaCondition
from study.personas.config import PersonaTextsConfig, PreambleConfig
from study.personas.derangement import Donors, assign_donors
from study.personas.preamble import Preamble
from study.personas.truncate import truncate
from study.records import Participant

log = logging.getLogger(__name__)

# Between an archetype's text and the transcript (the profile preamble ends in its own
# blank line).
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
    # shifted by the length of what precedes the transcript; those cut off by the
    # length limit are left out).
    spans: tuple[tuple[int, int], ...]
    # The human responses, in order (``prompt[s:e]`` for each span).
    responses: tuple[str, ...]
    # Length of the leading chat-template text (`assistant`), whose special-token
    # markup engines read as special tokens; 0 for every other condition.
    template_chars: int = 0
    # Which of the participant's sessions (transcripts) this prompt is built on.
    session: int = 0


def _compiled(preamble: Preamble | PreambleConfig) -> Preamble:
    return preamble if isinstance(preamble, Preamble) else Preamble(preamble)


def _head(
    participant: Participant,
    condition: PersonaCondition,
    texts: PersonaTextsConfig,
    preamble: Preamble,
    donor: Participant | None,
    chat: ChatTemplate | None,
) -> tuple[str, str]:
    """What precedes the transcript, and whose profile it shows."""
    if condition.kind == "none":
        return "", ""
    if condition.kind == "own":
        return preamble.text(participant.experiment, participant.profile), participant.participant
    if condition.kind == "other":
        if donor is None:
            raise ValueError("the `other` condition needs a donor (see assign_donors)")
        return preamble.text(donor.experiment, donor.profile), donor.participant
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
    preamble: Preamble | PreambleConfig,
    *,
    donor: Participant | None = None,
    chat: ChatTemplate | None = None,
) -> RenderedPrompt:
    """The prompt of ``participant`` under ``condition``, cut to the length limit.

    >>> from study.records import ChoicePoint, Participant
    >>> person = Participant("e", "1", "Go <<L>>", choices=(ChoicePoint("e", "1", 0, "L", 5, 6),))
    >>> texts = PersonaTextsConfig(archetypes={"bold": "I love risks."})
    >>> rendered = render(person, PersonaCondition("archetype", "bold"), texts, PreambleConfig())
    >>> start, end = rendered.spans[0]
    >>> rendered.prompt[start:end], rendered.persona
    ('L', 'archetype:bold')
    """
    compiled = _compiled(preamble)
    head, source = _head(participant, condition, texts, compiled, donor, chat)
    shift = len(head)
    rendered = RenderedPrompt(
        experiment=participant.experiment,
        participant=participant.participant,
        session=participant.session,
        persona=condition.label,
        persona_source=source,
        prompt=head + participant.transcript,
        spans=tuple((c.start + shift, c.end + shift) for c in participant.choices),
        responses=tuple(c.response for c in participant.choices),
        template_chars=shift if condition.kind == "assistant" else 0,
    )
    return truncate(rendered, compiled.max_chars)


def render_all(
    participants: Sequence[Participant],
    conditions: Iterable[PersonaCondition],
    texts: PersonaTextsConfig,
    preamble: Preamble | PreambleConfig,
    *,
    seed: int,
    chat: ChatTemplate | None = None,
) -> list[RenderedPrompt]:
    """Every (participant, condition) prompt that exists, participant-major (all
    conditions of the first participant, then the next), so progress counts whole
    participants. `own` and `other` are left out for a participant whose preamble is
    empty, `other` also for one without a donor (logged, with the count per experiment).
    """
    conditions = list(conditions)
    compiled = _compiled(preamble)
    own_text = {id(p): compiled.text(p.experiment, p.profile) for p in participants}
    donors: Donors | None = None
    if any(c.kind == "other" for c in conditions):
        donors = assign_donors(participants, seed, lambda p: own_text[id(p)])
        _log_undonored(donors)
    prompts = []
    for person in participants:
        for condition in conditions:
            donor = None
            if condition.kind in ("own", "other") and not own_text[id(person)]:
                continue
            if condition.kind == "other":
                donor = donors.of(person) if donors is not None else None
                if donor is None:
                    continue
            prompts.append(render(person, condition, texts, compiled, donor=donor, chat=chat))
    return prompts


def _log_undonored(donors: Donors) -> None:
    if not donors.undonored:
        log.info("persona 'other': every person with a preamble has a donor whose preamble differs")
        return
    per_experiment = Counter(experiment for experiment, _ in donors.undonored)
    log.warning(
        "persona 'other': %d persons have no donor whose preamble differs from their own "
        "and get no `other` prompt (%s)",
        len(donors.undonored),
        ", ".join(f"{experiment}: {n}" for experiment, n in sorted(per_experiment.items())),
    )
