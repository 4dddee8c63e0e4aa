"""Token plans for engines that take token ids and return log-probabilities (vLLM
in-process, vLLM's server, any OpenAI-compatible server that accepts token prompts).

Tokenisation follows the contract of study.engines.base: the prompt is cut at its
response spans (study.engines.pieces) and each piece is tokenised alone, the first with
the model's special tokens (BOS where the model wants one). A :class:`TokenPlan` holds
the ids and where each response's tokens lie, so one prompt-log-probability pass
gives every choice point's NLL.

Option probabilities need log P(option | context) for each option of a choice point.
Asking for the whole option set at once is cheap when the server can return the
log-probabilities of named next tokens (vLLM's ``logprob_token_ids``): one query per
distinct (choice, option prefix) gives the next-token log-probabilities of every
option that continues that prefix, so single-token options cost one query per choice
point and a multi-token option one query per token. The queries' prompts share the
transcript as a prefix, which prefix caching evaluates once.

>>> encode = lambda text, first, template: [ord(c) for c in text]
>>> plan = plan_tokens("ab <<C>> d <<E>>", ((5, 6), (13, 14)), 0, encode)
>>> plan.responses
((5, 6), (13, 14))
>>> nll, n = response_nll(plan, [None] + [-0.5] * (len(plan.ids) - 1))
>>> nll, n
((0.5, 0.5), (1, 1))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from study.engines.base import ScoreResult, Span
from study.engines.pieces import cut

# (text, is the first piece, is chat-template text) -> token ids. The first piece gets
# the model's special tokens (BOS); template text may contain special-token markup.
Encode = Callable[[str, bool, bool], list[int]]


@dataclass(frozen=True, slots=True)
class TokenPlan:
    ids: tuple[int, ...]
    # Per choice point: [start, end) of its response's tokens in ``ids``.
    responses: tuple[tuple[int, int], ...]


def plan_tokens(
    prompt: str, spans: Sequence[Span], template_chars: int, encode: Encode
) -> TokenPlan:
    """Tokenise ``prompt`` piece by piece and locate each response's tokens."""
    ids: list[int] = []
    responses: list[tuple[int, int]] = [(0, 0)] * len(spans)
    for number, piece in enumerate(cut(prompt, spans, template_chars)):
        piece_ids = encode(piece.text, number == 0, piece.template)
        if piece.choice is not None:
            responses[piece.choice] = (len(ids), len(ids) + len(piece_ids))
        ids.extend(piece_ids)
    if any(start == 0 < end for start, end in responses):
        raise ValueError("a response at the very start of a prompt has no context")
    return TokenPlan(tuple(ids), tuple(responses))


def response_nll(
    plan: TokenPlan, logprobs: Sequence[float | None]
) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Per choice point, minus the summed log-probability of its response's tokens.

    ``logprobs[j]`` is log P(ids[j] | ids[:j]) (``None`` for j = 0, which nothing
    predicts).
    """
    if len(logprobs) != len(plan.ids):
        raise ValueError(f"got {len(logprobs)} log-probabilities for {len(plan.ids)} tokens")
    nll = []
    for start, end in plan.responses:
        values = [logprobs[j] for j in range(start, end)]
        if any(v is None for v in values):
            raise ValueError("the server returned no log-probability for a response token")
        nll.append(-math.fsum(v for v in values if v is not None))
    return tuple(nll), tuple(end - start for start, end in plan.responses)


def score_result(
    plan: TokenPlan,
    logprobs: Sequence[float | None],
    option_probs: tuple[dict[str, float], ...] | None,
    tokens_evaluated: int,
) -> ScoreResult:
    """The result of one planned prompt, from the log-probability of each of its tokens
    (the whole prompt fits the context window: nothing dropped)."""
    nll, n_tokens = response_nll(plan, logprobs)
    return ScoreResult(
        nll=nll,
        n_tokens=n_tokens,
        option_probs=option_probs,
        tokens_evaluated=tokens_evaluated,
        prompt_tokens=len(plan.ids),
        dropped_tokens=(0,) * len(nll),
    )


@dataclass(frozen=True, slots=True)
class NextTokenQuery:
    """Ask for log P(t | prompt) for each t in ``targets``."""

    prompt: tuple[int, ...]
    targets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OptionPlan:
    """The queries that give the option probabilities of one request, and how to
    combine their answers."""

    queries: tuple[NextTokenQuery, ...]
    # Per choice point, per option: its token ids.
    encoded: tuple[tuple[tuple[int, ...], ...], ...]
    # Per choice point: index into ``queries`` by option prefix.
    lookup: tuple[Mapping[tuple[int, ...], int], ...]
    options: tuple[tuple[str, ...], ...]

    def probabilities(self, answers: Sequence[Mapping[int, float]]) -> tuple[dict[str, float], ...]:
        """Per choice point, option -> probability normalised over its option set, from
        each query's answer (target id -> log-probability)."""
        result = []
        for choice, options in enumerate(self.options):
            logps = []
            for ids in self.encoded[choice]:
                steps = (answers[self.lookup[choice][ids[:j]]][ids[j]] for j in range(len(ids)))
                logps.append(math.fsum(steps))
            result.append(normalise(options, logps))
        return tuple(result)


def plan_options(plan: TokenPlan, options: Sequence[Sequence[str]], encode: Encode) -> OptionPlan:
    """Queries for every option's log-probability after its choice point's context.

    >>> encode = lambda text, first, template: [ord(c) for c in text]
    >>> plan = plan_tokens("x <<A>>", ((4, 5),), 0, encode)
    >>> opts = plan_options(plan, [("A", "BC")], encode)
    >>> [(q.prompt[-1], q.targets) for q in opts.queries]
    [(60, (65, 66)), (66, (67,))]
    >>> probs = opts.probabilities([{65: math.log(0.5), 66: math.log(0.25)}, {67: 0.0}])
    >>> {k: round(v, 3) for k, v in probs[0].items()}
    {'A': 0.667, 'BC': 0.333}
    """
    if len(options) != len(plan.responses):
        raise ValueError("options must list one option set per choice point")
    queries: list[NextTokenQuery] = []
    encoded_all = []
    lookups = []
    for choice, option_set in enumerate(options):
        context = plan.ids[: plan.responses[choice][0]]
        encoded = tuple(tuple(encode(option, False, False)) for option in option_set)
        if any(not ids for ids in encoded):
            raise ValueError(f"choice point {choice}: an option has no tokens")
        # Next tokens wanted after each distinct prefix, in first-seen order.
        wanted: dict[tuple[int, ...], dict[int, None]] = {}
        for ids in encoded:
            for j in range(len(ids)):
                wanted.setdefault(ids[:j], {})[ids[j]] = None
        lookup = {}
        for prefix, targets in wanted.items():
            lookup[prefix] = len(queries)
            queries.append(NextTokenQuery(context + prefix, tuple(targets)))
        encoded_all.append(encoded)
        lookups.append(lookup)
    return OptionPlan(
        tuple(queries), tuple(encoded_all), tuple(lookups), tuple(map(tuple, options))
    )


def normalise(options: Sequence[str], logps: Sequence[float]) -> dict[str, float]:
    """Softmax of log-probabilities over an option set (stable for very small ones)."""
    shift = max(logps)
    log_total = shift + math.log(math.fsum(math.exp(lp - shift) for lp in logps))
    return {option: math.exp(lp - log_total) for option, lp in zip(options, logps, strict=True)}
