"""Cut a prompt at its response spans, so each response is tokenised on its own.

A BPE or SentencePiece tokenizer may merge characters across ``<<`` or ``>>`` (``<<R``
or ``>>.`` as one token), and then no token sequence is "the response's tokens". So
the engines tokenise the pieces between span boundaries separately and concatenate
them: every response then has its own tokens, the context before it ends exactly at
``<<``, and scoring all choice points in one pass equals scoring each one after its
context alone. The cost is a slightly unnatural tokenisation at the boundaries, the
same in every persona condition and every engine that follows this contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from study.engines.base import Span


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    # Index of the choice point whose response this piece is; None for context.
    choice: int | None
    # Text from a chat template, whose special-token markup (``<|im_start|>``) is to be
    # read as special tokens; transcript text never is.
    template: bool = False


def cut(prompt: str, spans: Sequence[Span], template_chars: int = 0) -> list[Piece]:
    """The prompt as alternating context and response pieces (empty context dropped);
    the first ``template_chars`` characters, if any, form a piece of their own.

    >>> [(p.text, p.choice) for p in cut("a <<B>> c <<D>>", [(4, 5), (12, 13)])]
    [('a <<', None), ('B', 0), ('>> c <<', None), ('D', 1), ('>>', None)]
    >>> [(p.text, p.template) for p in cut("<u>a <<B>>", [(7, 8)], template_chars=3)][:2]
    [('<u>', True), ('a <<', False)]
    """
    pieces: list[Piece] = []
    cursor = 0
    if template_chars:
        if spans and spans[0][0] < template_chars:
            raise ValueError("a response span lies inside the chat-template text")
        pieces.append(Piece(prompt[:template_chars], None, template=True))
        cursor = template_chars
    for index, (start, end) in enumerate(spans):
        if start < cursor or end < start or end > len(prompt):
            raise ValueError(f"span {index} ({start}, {end}) is out of order or out of range")
        if start > cursor:
            pieces.append(Piece(prompt[cursor:start], None))
        pieces.append(Piece(prompt[start:end], index))
        cursor = end
    if cursor < len(prompt):
        pieces.append(Piece(prompt[cursor:], None))
    return pieces
