"""The llama.cpp engine, the CPU default (llama-cpp-python, GGUF models from local files).

Score mode evaluates each prompt once, in batches, asking llama.cpp for logits only at
the tokens that precede a response token; the NLL of a response is minus the sum of its
tokens' log-probabilities (see study.engines.base for the tokenisation contract).
Option probabilities come from the same logits when every option is one token (true of
the shipped experiments with both models); an option set with a multi-token option is
scored exactly by evaluating each option after the choice point's context, at the cost
of one more pass per such choice point.

Sample mode evaluates the prompt once for all the runs of a (person, persona)
(consecutive requests that differ only in their seed, study.engines.groups). With flash
attention on (the default) that is the scoring pass itself, with logits kept at every
choice point's ``<<`` and response tokens: each run draws from those rows while it draws
the human's tokens, and only a run that leaves the transcript is decoded, on a branch
that sees the transcript before it (study.engines.sample_pass). Without flash attention
the true history up to each ``<<`` is appended, every run's response sampled one token
at a time sharing the decodes of prefixes that runs drew alike, and the cache rolled
back to the ``<<`` (study.engines.sample_tree). Each run draws with its own seeded
stream per choice point; a run's samples are the same bits alone or in a group. Runs
stop by study.engines.stopping: with ``sampling.mode=match`` a run that can no longer
reproduce the human's response stops there, so it costs no decode of its own. The
group's evaluated tokens (the pass, the branches) are split evenly among its runs (each
stored request's cost). Prompts longer than the context window stream through a rolling cache
(study.engines.rolling).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import llama_cpp
import numpy as np

from study.code_version import code_version
from study.engines.base import SampleRequest, SampleResult, ScoreRequest, ScoreResult
from study.engines.config import EngineConfig, LlamaCppEngineConfig, ModelConfig
from study.engines.draws import choice_stream
from study.engines.groups import attribute, run_groups
from study.engines.llama_runtime import MIN_ROWS, LlamaRuntime, log_normaliser
from study.engines.models import file_sha256, resolve_gguf
from study.engines.pieces import cut
from study.engines.rolling import RollingContext
from study.engines.sample_pass import sample_in_one_pass
from study.engines.sample_tree import sample_choice_point
from study.engines.stopping import StopRule, stop_rule
from study.errors import ConfigError


@dataclass
class TokenizedPrompt:
    tokens: list[int]
    # Per choice point: [start, end) of its response's tokens in ``tokens``.
    responses: list[tuple[int, int]]
    # Tokens of the first piece (chat framing or the text up to the first ``<<``).
    head: int


@dataclass
class _ScoreSink:
    """Collects, as logits stream past, what scoring needs at each wanted position."""

    tokens: list[int]
    # prompt index whose logits predict a response token -> (choice, the token)
    targets: dict[int, tuple[int, int]]
    # prompt index -> (choice, option first tokens) for single-token option sets
    option_sites: dict[int, tuple[int, list[int]]]
    rolling: RollingContext | None = None
    logprob: dict[int, float] = field(default_factory=dict)
    option_logprobs: dict[int, list[float]] = field(default_factory=dict)
    dropped: dict[int, int] = field(default_factory=dict)

    def __call__(self, index: int, logits: np.ndarray) -> None:
        # Only a few entries of the 262,144 are needed: their logits less the normaliser.
        normaliser = log_normaliser(logits)
        if index in self.targets:
            choice, token = self.targets[index]
            self.logprob[index] = float(logits[token]) - normaliser
            if self.rolling is not None and choice not in self.dropped:
                self.dropped[choice] = self.rolling.dropped
        if index in self.option_sites:
            choice, firsts = self.option_sites[index]
            self.option_logprobs[choice] = [float(logits[t]) - normaliser for t in firsts]


class LlamaCppEngine:
    def __init__(self, settings: LlamaCppEngineConfig, model: ModelConfig) -> None:
        self.settings = settings
        self.model = model
        self.path = resolve_gguf(model)
        self.sha256 = file_sha256(self.path)
        self.runtime = LlamaRuntime(
            self.path,
            n_ctx=settings.n_ctx,
            n_batch=settings.n_batch,
            n_threads=settings.n_threads,
            batch_invariant=settings.batch_invariant,
            flash_attn=settings.flash_attn,
            decode_threads=settings.decode_threads,
        )
        system = llama_cpp.llama_print_system_info().decode(errors="replace")
        self._build = hashlib.sha256(system.encode()).hexdigest()[:12]

    # -- identity -------------------------------------------------------------------

    def fingerprint(self) -> Mapping[str, str]:
        settings = {
            "engine": "llamacpp",
            "engine_version": llama_cpp.__version__,
            # This module's code (and what it imports): a changed engine is new results.
            "code_version": code_version(__name__),
            "model": self.model.name,
            "model_sha256": self.sha256,
            "n_ctx": str(self.runtime.n_ctx),
            "n_batch": str(self.runtime.n_batch),
            "batch_invariant": str(self.settings.batch_invariant),
            "flash_attn": str(self.settings.flash_attn),
            # The CPU features llama.cpp was built for (kernels differ in the last bits).
            "build": self._build,
        }
        # No thread count: no batch the engine makes depends on it (with flash attention
        # on, no batch has fewer than SAMPLE_ROWS rows; study.engines.llama_runtime).
        return settings

    def count_tokens(self, text: str) -> int:
        return len(self.runtime.tokenize(text, bos=True))

    def chat_prompt(self, user: str) -> str | None:
        template = self.runtime.metadata("tokenizer.chat_template")
        if not template:
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        bos = self.runtime.token_text(llama_cpp.llama_vocab_bos(self.runtime.vocab))
        eos = self.runtime.token_text(llama_cpp.llama_vocab_eos(self.runtime.vocab))
        formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        text = formatter(messages=[{"role": "user", "content": user}]).prompt
        # The tokenizer adds BOS itself; a BOS written by the template would double it.
        if self.runtime.add_bos and bos and text.startswith(bos):
            text = text[len(bos) :]
        return text

    # -- tokens ---------------------------------------------------------------------

    def tokenize(self, prompt: str, spans: Sequence[tuple[int, int]], template_chars: int = 0):
        """Piecewise tokenisation (study.engines.pieces) with each response's range."""
        tokens: list[int] = []
        responses: list[tuple[int, int]] = [(0, 0)] * len(spans)
        head = 0
        for number, piece in enumerate(cut(prompt, spans, template_chars)):
            ids = self.runtime.tokenize(piece.text, bos=number == 0, special=piece.template)
            if piece.choice is not None:
                responses[piece.choice] = (len(tokens), len(tokens) + len(ids))
            tokens.extend(ids)
            if number == 0:
                head = len(tokens)
        if any(start == 0 < end for start, end in responses):
            raise ValueError("a response at the very start of a prompt has no context")
        return TokenizedPrompt(tokens, responses, head)

    # -- score ----------------------------------------------------------------------

    def score(self, requests: Sequence[ScoreRequest]) -> Iterator[ScoreResult]:
        for request in requests:
            yield self._score_one(request)

    def _score_one(self, request: ScoreRequest) -> ScoreResult:
        prompt = self.tokenize(request.prompt, request.spans, request.template_chars)
        tokens = prompt.tokens
        targets = {
            j - 1: (choice, tokens[j])
            for choice, (start, end) in enumerate(prompt.responses)
            for j in range(start, end)
        }
        option_sites, multi_token = self._option_sites(request, prompt)
        rolling = RollingContext(self.runtime, tokens[: prompt.head])
        sink = _ScoreSink(tokens, targets, option_sites, rolling)
        wanted = set(targets) | set(option_sites)
        rolling.append(tokens, [i in wanted for i in range(len(tokens))], sink)
        evaluated = rolling.tokens_evaluated

        nll = tuple(
            -math.fsum(sink.logprob[j - 1] for j in range(start, end))
            for start, end in prompt.responses
        )
        option_probs = None
        if request.options is not None:
            per_choice: list[dict[str, float]] = []
            for choice, options in enumerate(request.options):
                if choice in multi_token:
                    logps, cost = self._option_logprobs_by_pass(prompt, choice, options)
                    evaluated += cost
                else:
                    logps = sink.option_logprobs[choice]
                per_choice.append(_normalise(options, logps))
            option_probs = tuple(per_choice)
        return ScoreResult(
            nll=nll,
            n_tokens=tuple(end - start for start, end in prompt.responses),
            option_probs=option_probs,
            tokens_evaluated=evaluated,
            prompt_tokens=len(tokens),
            dropped_tokens=tuple(sink.dropped.get(k, 0) for k in range(len(prompt.responses))),
        )

    def _option_sites(
        self, request: ScoreRequest, prompt: TokenizedPrompt
    ) -> tuple[dict[int, tuple[int, list[int]]], set[int]]:
        """Where single-token option sets read their logits; which choices need a pass."""
        sites: dict[int, tuple[int, list[int]]] = {}
        multi: set[int] = set()
        if request.options is None:
            return sites, multi
        if len(request.options) != len(prompt.responses):
            raise ValueError("options must list one option set per choice point")
        for choice, options in enumerate(request.options):
            encoded = [self.runtime.tokenize(o, bos=False) for o in options]
            if all(len(ids) == 1 for ids in encoded) and len({ids[0] for ids in encoded}) == len(
                encoded
            ):
                sites[prompt.responses[choice][0] - 1] = (choice, [ids[0] for ids in encoded])
            else:
                multi.add(choice)
        return sites, multi

    def _option_logprobs_by_pass(
        self, prompt: TokenizedPrompt, choice: int, options: Sequence[str]
    ) -> tuple[list[float], int]:
        """Exact log-probabilities of multi-token options: each option evaluated after
        the choice point's context in a pass of its own."""
        context = prompt.tokens[: prompt.responses[choice][0]]
        logps = []
        cost = 0
        for option in options:
            continuation = self.runtime.tokenize(option, bos=False)
            logp, evaluated = self._continuation_logprob(prompt.head, context, continuation)
            logps.append(logp)
            cost += evaluated
        return logps, cost

    def _continuation_logprob(
        self, head: int, context: Sequence[int], continuation: Sequence[int]
    ) -> tuple[float, int]:
        tokens = [*context, *continuation]
        start = len(context)
        targets = {j - 1: (0, tokens[j]) for j in range(start, len(tokens))}
        rolling = RollingContext(self.runtime, tokens[:head])
        sink = _ScoreSink(tokens, targets, {})
        rolling.append(tokens, [i in targets for i in range(len(tokens))], sink)
        return math.fsum(sink.logprob.values()), rolling.tokens_evaluated

    def score_per_choice(self, requests: Sequence[ScoreRequest]) -> Iterator[ScoreResult]:
        """The naive baseline: each choice point scored in a pass of its own, over the
        context up to its ``<<`` followed by its response (tests and benchmarks)."""
        for request in requests:
            prompt = self.tokenize(request.prompt, request.spans, request.template_chars)
            nll = []
            evaluated = 0
            for start, end in prompt.responses:
                logp, cost = self._continuation_logprob(
                    prompt.head, prompt.tokens[:start], prompt.tokens[start:end]
                )
                nll.append(-logp)
                evaluated += cost
            yield ScoreResult(
                nll=tuple(nll),
                n_tokens=tuple(end - start for start, end in prompt.responses),
                option_probs=None,
                tokens_evaluated=evaluated,
                prompt_tokens=len(prompt.tokens),
                dropped_tokens=(0,) * len(prompt.responses),
            )

    # -- sample ---------------------------------------------------------------------

    def sample(self, requests: Sequence[SampleRequest]) -> Iterator[SampleResult]:
        for group in run_groups(requests):
            yield from self._sample_group(group)

    def _sample_group(self, group: Sequence[SampleRequest]) -> list[SampleResult]:
        """The runs of one prompt (requests that differ only in their seed) in one walk
        over the prompt; each run's responses are those it would get alone."""
        shared = group[0]
        prompt = self.tokenize(shared.prompt, shared.spans, shared.template_chars)
        rule = stop_rule(shared)
        if self.settings.flash_attn:
            # One pass as scoring makes it, then each run's branches off the transcript
            # (study.engines.sample_pass).
            rolling = RollingContext(self.runtime, prompt.tokens[: prompt.head])
            per_run = sample_in_one_pass(
                rolling,
                prompt.tokens,
                prompt.responses,
                [request.seed for request in group],
                rule=rule,
                temperature=shared.temperature,
            )
        else:
            rolling, per_run = self._sample_depth_first(group, prompt, rule)
        costs = attribute(rolling.tokens_evaluated, len(group))
        return [
            SampleResult(
                responses=tuple(text.decode("utf-8", errors="replace") for text in texts),
                tokens_evaluated=cost,
                prompt_tokens=len(prompt.tokens),
            )
            for texts, cost in zip(per_run, costs, strict=True)
        ]

    def _sample_depth_first(
        self, group: Sequence[SampleRequest], prompt: TokenizedPrompt, rule: StopRule
    ) -> tuple[RollingContext, list[list[bytes]]]:
        """Without flash attention: the true history up to each ``<<`` appended in
        short batches, then one run's token at a time (study.engines.sample_tree)."""
        shared = group[0]
        tokens = prompt.tokens
        rolling = RollingContext(self.runtime, tokens[: prompt.head], min_rows=1)
        per_run: list[list[bytes]] = [[] for _ in group]
        cursor = 0
        for choice, (start, _end) in enumerate(prompt.responses):
            context = tokens[cursor:start]
            flags = [False] * len(context)
            if flags:
                flags[-1] = True
                rolling.append(context, flags, reserve=shared.max_tokens)
            # A stream per (run, choice point), as in the one-pass sampler: a run's
            # draws at a choice point do not depend on how many it made before.
            texts = sample_choice_point(
                rolling,
                [choice_stream(request.seed, choice) for request in group],
                rule=rule,
                choice=choice,
                temperature=shared.temperature,
            )
            for run, text in enumerate(texts):
                per_run[run].append(text)
            cursor = start
        return rolling, per_run

    def close(self) -> None:
        self.runtime.close()


def _normalise(options: Sequence[str], logps: Sequence[float]) -> dict[str, float]:
    top = max(logps)
    weights = [math.exp(lp - top) for lp in logps]
    total = math.fsum(weights)
    return {option: w / total for option, w in zip(options, weights, strict=True)}


def build(engine: EngineConfig, model: ModelConfig) -> LlamaCppEngine:
    if not isinstance(engine, LlamaCppEngineConfig):
        engine = LlamaCppEngineConfig()
    if not model.gguf:
        raise ConfigError(
            f"engine=llamacpp needs a GGUF model; model={model.name} has none "
            "(try model=gemma3_270m or model=smollm2_135m)"
        )
    if engine.decode_threads is not None and engine.decode_threads < 1:
        raise ConfigError(f"engine.decode_threads must be at least 1, got {engine.decode_threads}")
    if engine.n_batch < 1:
        raise ConfigError(f"engine.n_batch must be at least 1, got {engine.n_batch}")
    if engine.batch_invariant and engine.n_batch < 2 * MIN_ROWS:
        # split() halves a batch at worst; below MIN_ROWS rows other kernels take over.
        raise ConfigError(
            f"engine.n_batch must be at least {2 * MIN_ROWS} with engine.batch_invariant=true "
            f"(batches under {MIN_ROWS} tokens take other kernels), got {engine.n_batch}"
        )
    return LlamaCppEngine(engine, model)
