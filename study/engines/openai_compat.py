"""The OpenAI-compatible engine (``engine=openai``): a completions server over HTTP.

It speaks the completions API: ``vllm serve``, llama.cpp's server or a hosted API.

- **Score**: one request per prompt with ``echo`` and ``logprobs`` and no new tokens:
  the server returns the log-probability of every prompt token. With
  ``engine.tokenizer=server`` the prompt goes as token ids, tokenised piece by piece
  through the server's ``/tokenize`` (vLLM), exactly the contract of
  study.engines.base; option probabilities then come from next-token queries with
  vLLM's ``logprob_token_ids`` (one per choice point and option prefix, served from
  the prefix cache). With ``engine.tokenizer=none`` (servers that take only text) the
  prompt goes as text, a response's tokens are those whose characters overlap it (the
  server's own tokenisation, which may merge a response with its markers), and each
  option is scored by echoing the context followed by the option.
- **Sample**: one request per choice point, the true history up to ``<<``, with the
  choice point's own seed (study.engines.vllm.choice_seed), ``n=1`` and the stop
  string ``>>``. What the runs of a (person, persona) can share: requests go out in
  request order, ``engine.client.concurrency`` at a time, and the runs of a prompt are
  adjacent, so a server with prefix caching (``vllm serve``, on by default in
  ``engine=vllm_server``; llama.cpp's server with its prompt cache) evaluates their
  common history once and serves the other runs from its cache; the cached tokens the
  server reports (``usage.prompt_tokens_details.cached_tokens``) are left out of
  ``tokens_evaluated``. What it cannot share or know: a server without prefix caching
  re-evaluates the history for every run; a server that caches in blocks (vLLM)
  recomputes each request's last, unfilled block for every run; a server that reports
  no cached tokens is counted as having computed the whole prompt; whether a hosted
  server caches at all, or honours ``seed`` (vLLM does; hosted APIs may treat it as a
  hint), is the server's affair; and the decodes of tokens that runs drew alike (the
  llama.cpp engine's tree walk) are never shared over the API. Each run is its own
  completion, never one ``n > 1`` request (whose children would share seeds
  ``seed + i``).

Requests run ``engine.client.concurrency`` at a time, with timeouts and retries
(study.engines.openai_http). The API key comes from the environment variable named by
``engine.api_key_env`` and appears nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from study.code_version import code_version
from study.engines.base import SampleRequest, SampleResult, ScoreRequest, ScoreResult, Span
from study.engines.config import EngineConfig, ModelConfig, OpenAIEngineConfig
from study.engines.openai_http import HttpClient, ServerError
from study.engines.vllm import STOP, choice_seed, request_owner
from study.engines.vllm_plan import (
    NextTokenQuery,
    TokenPlan,
    normalise,
    plan_options,
    plan_tokens,
    score_result,
)
from study.errors import ConfigError, StudyInputError

logger = logging.getLogger(__name__)

TOKENIZERS = ("server", "none")


@dataclass(frozen=True, slots=True)
class _Usage:
    evaluated: int
    completion: int


class OpenAICompatibleEngine:
    """See the module docstring. ``on_close`` runs at :meth:`close`; ``identity`` is
    the fingerprint less the tokenizer mode, which a wrapper that knows more (the managed
    vLLM server knows its weights' sha256) may replace."""

    def __init__(
        self,
        settings: OpenAIEngineConfig,
        model: ModelConfig,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        if settings.tokenizer not in TOKENIZERS:
            raise ConfigError(
                f"engine.tokenizer must be one of {', '.join(TOKENIZERS)}, got "
                f"{settings.tokenizer!r}"
            )
        self.settings = settings
        self.model = model
        self.client = HttpClient(settings.url, settings.client, settings.api_key_env)
        # The server's root, where vLLM serves /tokenize, /detokenize and /version.
        self.root = settings.url.rstrip("/").removesuffix("/v1")
        self._on_close = on_close
        self.served = self._served_model(settings.model)
        self.served_model = str(self.served["id"])
        self._token_cache: dict[tuple[str, bool], list[int]] = {}
        self.identity: dict[str, str] = {
            "engine": "openai",
            "engine_version": self.server_version(),
            # This module's code (and what it imports): a changed client is new results.
            "code_version": code_version(__name__),
            "model": model.name,
            "served_model": self.served_model,
            "model_revision": settings.model_revision,
        }

    def _served_model(self, wanted: str) -> Mapping[str, Any]:
        """The server's description of the model (vLLM adds max_model_len)."""
        listed = self.client.get("/models").get("data") or []
        for entry in listed:
            if not wanted or entry.get("id") == wanted:
                return entry
        names = ", ".join(str(e.get("id")) for e in listed) or "none"
        raise ConfigError(
            f"the server at {self.settings.url} does not serve {wanted or 'any model'!r} "
            f"(it lists: {names})"
        )

    def server_version(self) -> str:
        try:
            return str(self.client.get(self.root + "/version").get("version", ""))
        except (ServerError, AttributeError):
            return ""  # not vLLM; the model name and revision identify the results

    # -- identity -------------------------------------------------------------------

    def fingerprint(self) -> Mapping[str, str]:
        return {**self.identity, "tokenizer": self.settings.tokenizer}

    # -- tokens ---------------------------------------------------------------------

    def encode(self, text: str, first: bool, template: bool) -> list[int]:
        # vLLM's /tokenize reads special-token markup in any text; transcripts carry none.
        key = (text, first)
        if key not in self._token_cache:
            answer = self.client.post(
                self.root + "/tokenize",
                {"model": self.served_model, "prompt": text, "add_special_tokens": first},
            )
            self._token_cache[key] = [int(t) for t in answer["tokens"]]
        return self._token_cache[key]

    def count_tokens(self, text: str) -> int:
        if self.settings.tokenizer == "server":
            return len(self.encode(text, True, False))
        answer = self._complete({"prompt": text, "max_tokens": 0, "echo": True, "logprobs": 0})
        return len(answer["choices"][0]["logprobs"]["tokens"])

    def chat_prompt(self, user: str) -> str | None:
        if self.settings.tokenizer != "server":
            return None  # a text-only server does not show its chat template
        try:
            tokens = self.client.post(
                self.root + "/tokenize",
                {
                    "model": self.served_model,
                    "messages": [{"role": "user", "content": user}],
                    "add_generation_prompt": True,
                },
            )["tokens"]
            text = str(
                self.client.post(
                    self.root + "/detokenize", {"model": self.served_model, "tokens": tokens}
                )["prompt"]
            )
        except ServerError as err:
            logger.info("no chat template at the server: %s", err)
            return None
        # The first piece gets the model's BOS from /tokenize; one written by the
        # template would double it.
        bos = self.encode("", True, False)
        if bos:
            head = str(
                self.client.post(
                    self.root + "/detokenize", {"model": self.served_model, "tokens": bos}
                )["prompt"]
            )
            if head and text.startswith(head):
                text = text[len(head) :]
        return text

    def _plan(self, prompt: str, spans: Sequence[Span], template_chars: int, tags) -> TokenPlan:
        try:
            return plan_tokens(prompt, spans, template_chars, self.encode)
        except ValueError as err:
            raise StudyInputError(str(err), participant=request_owner(tags)) from None

    # -- requests -------------------------------------------------------------------

    def _complete(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.client.post("/completions", {"model": self.served_model, **payload})

    @staticmethod
    def _usage(answer: Mapping[str, Any]) -> _Usage:
        usage = answer.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        cached = int(details.get("cached_tokens") or 0)
        return _Usage(
            int(usage.get("prompt_tokens") or 0) - cached, int(usage.get("completion_tokens") or 0)
        )

    def _echo(self, prompt: list[int] | str) -> tuple[dict[str, Any], int]:
        """Log-probabilities of every prompt token, and the tokens evaluated."""
        answer = self._complete(
            {"prompt": prompt, "max_tokens": 0, "echo": True, "logprobs": 0, "temperature": 0}
        )
        return answer["choices"][0]["logprobs"], self._usage(answer).evaluated

    def _next_tokens(self, query: NextTokenQuery) -> tuple[dict[int, float], int]:
        answer = self._complete(
            {
                "prompt": list(query.prompt),
                "max_tokens": 1,
                "temperature": 0,
                "logprobs": len(query.targets),
                "logprob_token_ids": list(query.targets),
                "return_tokens_as_token_ids": True,
            }
        )
        top = answer["choices"][0]["logprobs"]["top_logprobs"][0]
        found = {int(token.removeprefix("token_id:")): lp for token, lp in top.items()}
        missing = set(query.targets) - set(found)
        if missing:
            raise ServerError(
                f"the server returned no log-probability for tokens {sorted(missing)}; "
                "engine.tokenizer=server needs vLLM's logprob_token_ids"
            )
        return found, self._usage(answer).evaluated

    # -- score ----------------------------------------------------------------------

    def score(self, requests: Sequence[ScoreRequest]) -> Iterator[ScoreResult]:
        if self.settings.tokenizer == "server":
            yield from self.client.map(self._score_tokens, requests)
        else:
            yield from self.client.map(self._score_text, requests)

    def _score_tokens(self, request: ScoreRequest) -> ScoreResult:
        plan = self._plan(request.prompt, request.spans, request.template_chars, request.tags)
        logprobs, evaluated = self._echo(list(plan.ids))
        token_logprobs = logprobs["token_logprobs"][: len(plan.ids)]
        option_probs = None
        if request.options is not None:
            option_plan = plan_options(plan, request.options, self.encode)
            answers = [self._next_tokens(q) for q in option_plan.queries]
            option_probs = option_plan.probabilities([found for found, _ in answers])
            evaluated += sum(cost for _, cost in answers)
        return score_result(plan, token_logprobs, option_probs, evaluated)

    def _score_text(self, request: ScoreRequest) -> ScoreResult:
        logprobs, evaluated = self._echo(request.prompt)
        nll = []
        n_tokens = []
        for start, end in request.spans:
            values = overlapping(logprobs, start, end)
            nll.append(-sum(values))
            n_tokens.append(len(values))
        option_probs = None
        if request.options is not None:
            per_choice = []
            for (start, _end), option_set in zip(request.spans, request.options, strict=True):
                logps = []
                for option in option_set:
                    echoed, cost = self._echo(request.prompt[:start] + option)
                    logps.append(sum(overlapping(echoed, start, start + len(option))))
                    evaluated += cost
                per_choice.append(normalise(option_set, logps))
            option_probs = tuple(per_choice)
        return ScoreResult(
            nll=tuple(nll),
            n_tokens=tuple(n_tokens),
            option_probs=option_probs,
            tokens_evaluated=evaluated,
            prompt_tokens=len(logprobs["tokens"]),
            dropped_tokens=(0,) * len(nll),
        )

    # -- sample ---------------------------------------------------------------------

    def sample(self, requests: Sequence[SampleRequest]) -> Iterator[SampleResult]:
        yield from self.client.map(self._sample_one, requests)

    def _sample_one(self, request: SampleRequest) -> SampleResult:
        if self.settings.tokenizer == "server":
            plan = self._plan(request.prompt, request.spans, request.template_chars, request.tags)
            contexts: list[list[int] | str] = [list(plan.ids[:s]) for s, _ in plan.responses]
            prompt_tokens = len(plan.ids)
        else:
            contexts = [request.prompt[:start] for start, _ in request.spans]
            prompt_tokens = 0
        responses = []
        evaluated = 0
        for choice, context in enumerate(contexts):
            answer = self._complete(
                {
                    "prompt": context,
                    "n": 1,
                    "seed": choice_seed(request.seed, choice),
                    "temperature": request.temperature,
                    "max_tokens": request.max_tokens,
                    "stop": [STOP],
                }
            )
            responses.append(str(answer["choices"][0]["text"]))
            usage = self._usage(answer)
            evaluated += usage.evaluated + usage.completion
        return SampleResult(
            responses=tuple(responses), tokens_evaluated=evaluated, prompt_tokens=prompt_tokens
        )

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


def overlapping(logprobs: Mapping[str, Any], start: int, end: int) -> list[float]:
    """Log-probabilities of the echoed tokens whose characters overlap [start, end).

    >>> echoed = {"tokens": ["a", " <<", "R", ">>"], "text_offset": [0, 1, 4, 5],
    ...           "token_logprobs": [None, -1.0, -2.0, -0.5]}
    >>> overlapping(echoed, 4, 5)
    [-2.0]
    """
    values = []
    for token, offset, logprob in zip(
        logprobs["tokens"], logprobs["text_offset"], logprobs["token_logprobs"], strict=True
    ):
        if offset < end and offset + len(token) > start and logprob is not None:
            values.append(float(logprob))
    return values


def build(engine: EngineConfig, model: ModelConfig) -> OpenAICompatibleEngine:
    if not isinstance(engine, OpenAIEngineConfig):
        engine = OpenAIEngineConfig()
    return OpenAICompatibleEngine(engine, model)
