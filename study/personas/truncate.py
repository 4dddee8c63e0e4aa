"""The prompt length limit (STUDY.md, "Truncation"): at most N characters, never inside
an open ``<<``.

The Psych-201 paper cuts every prompt (preamble plus transcript) at 32,768 characters
and, when the cut leaves a ``<<`` without its ``>>``, ends the prompt before that
``<<``. Here that means: the choice points whose closing ``>>`` ends within the limit
are kept; the first one that does not, and every later one, are dropped; the prompt
ends at the limit, or before the first dropped choice point's ``<<`` when that opens
within the limit. Kept spans and responses are unchanged, so they still point at the
responses.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from study.errors import ConfigError

if TYPE_CHECKING:
    from study.personas.render import RenderedPrompt

CLOSE = len(">>")
OPEN = len("<<")


def check_limit(max_chars: int | None) -> None:
    """Refuse a limit that is not a positive number of characters (null: no limit)."""
    if max_chars is not None and max_chars < 1:
        raise ConfigError(
            f"preamble.max_prompt_chars must be a positive number of characters or null, "
            f"got {max_chars}"
        )


def cut_point(
    prompt_chars: int, spans: tuple[tuple[int, int], ...], max_chars: int
) -> tuple[int, int]:
    """(length of the cut prompt, number of choice points kept) for a prompt of
    ``prompt_chars`` characters whose responses sit at ``spans`` (in order).

    >>> text = "Pick <<A>> then <<B>> ok"
    >>> spans = ((7, 8), (18, 19))
    >>> [cut_point(len(text), spans, n) for n in (30, 21, 20, 12)]
    [(24, 2), (21, 2), (16, 1), (12, 1)]
    >>> cut_point(len(text), spans, 9)  # inside the first <<A>>: nothing kept
    (5, 0)
    """
    if prompt_chars <= max_chars:
        return prompt_chars, len(spans)
    kept = 0
    while kept < len(spans) and spans[kept][1] + CLOSE <= max_chars:
        kept += 1
    if kept < len(spans) and spans[kept][0] - OPEN < max_chars:
        return spans[kept][0] - OPEN, kept
    return max_chars, kept


def truncate(rendered: RenderedPrompt, max_chars: int | None) -> RenderedPrompt:
    """``rendered`` cut to ``max_chars`` characters (see the module doc); unchanged when
    it fits or ``max_chars`` is None."""
    if max_chars is None or len(rendered.prompt) <= max_chars:
        return rendered
    length, kept = cut_point(len(rendered.prompt), rendered.spans, max_chars)
    return replace(
        rendered,
        prompt=rendered.prompt[:length],
        spans=rendered.spans[:kept],
        responses=rendered.responses[:kept],
        template_chars=min(rendered.template_chars, length),
    )
