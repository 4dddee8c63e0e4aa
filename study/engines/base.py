"""The engine protocol: what every language-model adapter provides.

Prompts are plain text. A request carries the character spans of the human responses
inside its prompt (the text between ``<<`` and ``>>``); each adapter maps those spans
onto its own tokens. The spans, not token ids, are the contract, so the llama.cpp,
vLLM, OpenAI-compatible and simulated engines are interchangeable.

Granularity follows the cost model of STUDY.md: one score request per
(participant, persona) covers all its choice points in one forward pass; one sample
request per (participant, persona, run) samples every choice point, each given the
true history before it, reusing the evaluated prefix. An engine may compute consecutive
sample requests that differ only in their seed (the runs of a prompt) together, sharing
their evaluations (study.engines.groups), as long as each run's result is what it would
be alone.

Tokenisation contract (all engines that tokenise): the prompt is cut at every span
boundary and each piece is tokenised on its own (the first with the model's BOS), so
a response's tokens are exactly the tokens of the response text, never a token that
straddles ``<<`` or ``>>``. The NLL of a response is minus the summed log-probability
of those tokens given every token before them. This is what "the tokens between
``<<`` and ``>>``" means here, and it makes one-pass scoring equal to scoring each
choice point alone (see study.engines.pieces for the cutting).

``tags`` say whom a request is about (experiment, participant, persona). Real engines
ignore them; the simulated engine draws its person and persona effects from them; the
store keys include them.

Notes for adapter authors (part B: vLLM and OpenAI-compatible engines): implement
every method of :class:`Engine`; ``chat_prompt`` may return None when the model has no
chat template, which makes the ``assistant`` persona a configuration error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Span = tuple[int, int]
Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    # Everything the model reads: persona preamble (if any) followed by the transcript.
    prompt: str
    # Character spans of the responses inside ``prompt`` (between the markers).
    spans: tuple[Span, ...]
    # Per choice point, the candidate responses whose normalised probabilities are
    # wanted (discrete-choice experiments); None when not asked for.
    options: tuple[tuple[str, ...], ...] | None = None
    tags: Tags = ()
    # Length of the prompt's leading chat-template text (the `assistant` persona), in
    # which special-token markup is read as special tokens; 0 when there is none.
    template_chars: int = 0


@dataclass(frozen=True, slots=True)
class ScoreResult:
    # Per choice point: minus the summed log-probability of the response's tokens.
    nll: tuple[float, ...]
    # Per choice point: how many tokens the response spanned.
    n_tokens: tuple[int, ...]
    # Per choice point: option -> probability normalised over the option set.
    option_probs: tuple[Mapping[str, float], ...] | None
    # Tokens the engine evaluated for this request (cost accounting).
    tokens_evaluated: int
    # Tokens in the prompt (the baseline the cost is compared against).
    prompt_tokens: int
    # Per choice point: how many prompt tokens before it the model could not see
    # because the prompt exceeded its context window (0 when it fitted).
    dropped_tokens: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SampleRequest:
    prompt: str
    spans: tuple[Span, ...]
    # The run's seed: a stable hash of (model, experiment, participant, persona, run).
    seed: int
    max_tokens: int = 16
    temperature: float = 1.0
    # As in ScoreRequest; the simulated engine samples from these.
    options: tuple[tuple[str, ...], ...] | None = None
    tags: Tags = ()
    template_chars: int = 0
    # sampling.mode=match: a run may stop as soon as its text can no longer become the
    # human's response (the prompt's text at the span) followed by ``>>``; whether it
    # matches is then decided, and the rest of its response need not be generated
    # (study.engines.stopping). Engines that cannot stop on this generate it whole.
    stop_at_mismatch: bool = False


@dataclass(frozen=True, slots=True)
class SampleResult:
    # Per choice point: the generated text up to (not including) ``>>``; a response
    # that hit max_tokens without ``>>`` is returned as generated.
    responses: tuple[str, ...]
    tokens_evaluated: int
    # Tokens in the prompt (cost baseline).
    prompt_tokens: int = 0


@runtime_checkable
class Engine(Protocol):
    """A language model that scores and samples transcripts."""

    def fingerprint(self) -> Mapping[str, str]:
        """What identifies this engine's outputs in the store: engine name and version,
        model file sha256 or revision, and every setting that changes results."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes as a prompt (dry runs and cost accounting)."""
        ...

    def chat_prompt(self, user: str) -> str | None:
        """The model's chat template applied to one user message, ending where the
        assistant's reply begins; None when the model has no chat template."""
        ...

    def score(self, requests: Sequence[ScoreRequest]) -> Iterator[ScoreResult]:
        """Score requests, yielding results in request order as each completes."""
        ...

    def sample(self, requests: Sequence[SampleRequest]) -> Iterator[SampleResult]:
        """Sample requests, yielding results in request order as each completes."""
        ...

    def close(self) -> None: ...
