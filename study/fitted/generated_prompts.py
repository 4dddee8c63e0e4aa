"""The requests of the generated personas (study.fitted.generated): what the model reads
when it writes or refines a description, and the seed of each generation.

A description is generated through the engines' ``sample`` API: the prompt (the
``write`` or ``refine`` template of :class:`GeneratedConfig` with its fields filled)
ends with ``<<`` PLACEHOLDER ``>>`` and that one span is sampled, given the prompt
before it, until ``>>`` or ``max_tokens``. llama.cpp, vLLM and an OpenAI-compatible
server generate there; the placeholder is what the simulated engine echoes (or, with
the probability it gives a miss, swaps for one of the request's ``options``: the
library's sentences), its stand-in for writing. A non-empty placeholder also keeps the
span like every human response's, never empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from study.engines.base import SampleRequest
from study.engines.seeds import run_seed
from study.fitted.config import GeneratedConfig
from study.records import ChoicePoint, Participant

OPEN, CLOSE = "<<", ">>"
# The persona label of generation requests (seeds and tags); descriptions scored as
# preambles are labelled ``archetype:generated-HASH``.
GENERATED = "generated"


@dataclass(frozen=True, slots=True)
class GenerationPrompt:
    """Whose description a generation request writes, and in which round (the store's
    and the progress bar's view of the job)."""

    experiment: str
    participant: str
    round: int
    kind: str  # "write" or "refine"
    session: int = 0


@dataclass(frozen=True, slots=True)
class Position:
    """One of a person's choices in their order over sessions (0-based)."""

    session: Participant
    choice: ChoicePoint

    @property
    def context(self) -> str:
        """Everything of the session's transcript before the response's ``<<``."""
        return self.session.transcript[: self.choice.marker_start]


def positions(sessions: Sequence[Participant]) -> list[Position]:
    """A person's choices in order: sessions by number, choices within each."""
    ordered = sorted(sessions, key=lambda s: s.session)
    return [Position(s, c) for s in ordered for c in s.choices]


def excerpt(sessions: Sequence[Participant], k: int, max_chars: int) -> str:
    """The person's transcript up to the end of the line of their K-th choice (sessions
    in order, a blank line between them), its last ``max_chars`` characters cut at a
    line start when it is longer.

    >>> s = Participant("e", "1", "a <<x>> one\\nb <<y>> two\\nc <<z>>\\n",
    ...     choices=(ChoicePoint("e", "1", 0, "x", 4, 5), ChoicePoint("e", "1", 1, "y", 16, 17),
    ...              ChoicePoint("e", "1", 2, "z", 28, 29)))
    >>> excerpt([s], 2, 100)
    'a <<x>> one\\nb <<y>> two'
    >>> excerpt([s], 2, 14)
    'b <<y>> two'
    """
    from study.data.truncate import first_choices

    parts, left = [], k
    for session in sorted(sessions, key=lambda s: s.session):
        if left <= 0:
            break
        cut = first_choices(session, left) if session.choices else session
        parts.append(cut.transcript.strip())
        left -= len(cut.choices)
    return tail("\n\n".join(parts), max_chars)


def tail(text: str, chars: int) -> str:
    """The last ``chars`` characters of ``text``; when that is not all of it, from the
    first line start within them (a whole line, never the end of a cut one).

    >>> tail("one\\ntwo\\nthree", 9), tail("one\\ntwo\\nthree", 7), tail("abc", 2)
    ('two\\nthree', 'three', 'bc')
    """
    if len(text) <= chars:
        return text
    start = len(text) - chars
    if text[start - 1] == "\n":
        return text[start:]
    cut = text[start:]
    line = cut.find("\n")
    return cut[line + 1 :] if 0 <= line < len(cut) - 1 else cut


def error_lines(worst: Sequence[Position], template: str, context_chars: int) -> str:
    """One line per badly predicted choice: the tail of its context (whitespace
    collapsed) and the human's actual response."""
    lines = []
    for position in worst:
        context = " ".join(position.context.split())
        tail = context[-context_chars:] if context_chars else ""
        line = template.replace("{context}", tail).replace("{response}", position.choice.response)
        lines.append(line)
    return "\n".join(lines)


def fill(template: str, fields: dict[str, str]) -> str:
    """``template`` with each ``{name}`` replaced as plain text (no format mini-language:
    transcripts hold braces of their own)."""
    for name, value in fields.items():
        template = template.replace("{" + name + "}", value)
    return template


def generation_seed(
    model: str, experiment: str, participant: str, round_: int, config_seed: int
) -> int:
    """The seed of a person's generation in ``round_``: the run seed of (model,
    experiment, participant, ``generated``, round, config seed), so the same config
    writes the same bytes and another ``seed`` new texts.

    >>> generation_seed("m", "e", "1", 0, 0) != generation_seed("m", "e", "1", 1, 0)
    True
    >>> generation_seed("m", "e", "1", 0, 0) != generation_seed("m", "e", "1", 0, 1)
    True
    """
    return run_seed(model, experiment, participant, GENERATED, round_, config_seed=config_seed)


def generation_request(
    prompt_text: str,
    placeholder: str,
    *,
    seed: int,
    cfg: GeneratedConfig,
    who: GenerationPrompt,
    options: tuple[str, ...],
) -> SampleRequest:
    """The sample request that writes one description after ``prompt_text``."""
    prompt = prompt_text + OPEN + placeholder + CLOSE
    start = len(prompt_text) + len(OPEN)
    return SampleRequest(
        prompt=prompt,
        spans=((start, start + len(placeholder)),),
        seed=seed,
        max_tokens=cfg.max_tokens,
        temperature=cfg.temperature,
        options=(options,) if options else None,
        tags=(
            ("experiment", who.experiment),
            ("participant", who.participant),
            ("session", str(who.session)),
            ("persona", GENERATED),
            ("round", str(who.round)),
            ("kind", who.kind),
        ),
    )


def clean(text: str) -> str:
    """A generated description as it is used: its first non-empty line (the prompt
    asks for one answer line; a small model runs on into the next interview turn),
    whitespace collapsed, without ``<<``/``>>`` (which would read as a response inside
    the preamble).

    >>> clean("  I take  risks <<A>> \\nInterviewer: and?")
    'I take risks A'
    """
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return " ".join(first.replace(OPEN, "").replace(CLOSE, "").split())
