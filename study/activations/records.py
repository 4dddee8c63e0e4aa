"""What the activations engine is asked and what it returns.

A request is a rendered prompt exactly as the scoring engines get it (persona preamble
followed by the transcript, study.personas.render) with the character spans of its
responses, so activations and NLLs are measured on the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from study.engines.base import ScoreRequest, Span, Tags
from study.personas.render import RenderedPrompt


@dataclass(frozen=True, slots=True)
class ActivationRequest:
    # Everything the model reads: persona preamble (if any) followed by the transcript.
    prompt: str
    # Character spans of the responses inside ``prompt`` (between ``<<`` and ``>>``).
    spans: tuple[Span, ...]
    # Whom the request is about (experiment, participant, persona); part of the key.
    tags: Tags = ()
    # Decoder blocks whose output is kept (0 = after the first block); None: all.
    layers: tuple[int, ...] | None = None
    # Length of the leading chat-template text (the `assistant` persona), as in
    # ScoreRequest; 0 when there is none.
    template_chars: int = 0
    # Steering: ``steer`` (a vector of the model's hidden size) is added to the output of
    # block ``steer_layer`` at every position; None/empty: no steering.
    steer_layer: int | None = None
    steer: tuple[float, ...] = ()
    # Response options whose next-token log-probabilities are wanted at each choice
    # point (single-token options only; see ActivationResult.option_logprobs).
    options: tuple[str, ...] = ()

    @classmethod
    def from_rendered(
        cls, rendered: RenderedPrompt, layers: tuple[int, ...] | None = None
    ) -> ActivationRequest:
        """The request for a rendered prompt, tagged as study.respond tags its score
        requests (experiment, participant, session, persona)."""
        tags = (
            ("experiment", rendered.experiment),
            ("participant", rendered.participant),
            ("session", str(rendered.session)),
            ("persona", rendered.persona),
        )
        return cls(rendered.prompt, rendered.spans, tags, layers, rendered.template_chars)

    @classmethod
    def from_score(
        cls, request: ScoreRequest, layers: tuple[int, ...] | None = None
    ) -> ActivationRequest:
        """The activations request for the prompt a score request scores."""
        return cls(request.prompt, request.spans, request.tags, layers, request.template_chars)


@dataclass(frozen=True, slots=True)
class ActivationResult:
    # float16, [choice points, layers, hidden]: the residual stream after each kept
    # block at the last token of the context before each response.
    states: np.ndarray
    # The blocks of ``states``' second axis, in order.
    layers: tuple[int, ...]
    # Per choice point: minus the summed log-probability of the response's tokens under
    # the same forward pass (the check that these are the scoring engines' weights).
    nll: tuple[float, ...]
    # Per choice point: how many tokens the response spanned.
    n_tokens: tuple[int, ...]
    # Per choice point: the token index whose state is kept.
    positions: tuple[int, ...]
    # Tokens in the prompt.
    prompt_tokens: int
    # Per choice point, per requested option: its log-probability as the response's
    # first token. Empty when no options were asked for or some option is more than one
    # token (then a first-token probability is not the option's).
    option_logprobs: tuple[tuple[float, ...], ...] = ()
