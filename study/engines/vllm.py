"""The vLLM engine, in-process (``engine=vllm``): vLLM's offline ``LLM`` class.

For GPU machines and clusters: ``pip install '.[vllm]'`` puts vLLM beside the package.
vLLM is imported only when this engine is built, so nothing else needs it; on the CPU,
where vLLM lives in its own Python 3.11 environment, use ``engine=vllm_server``.

Score mode asks vLLM for prompt log-probabilities (``prompt_logprobs=0``: the
log-probability of each prompt token itself) in one pass per request, and sums them
over each response's tokens (study.engines.vllm_plan). Option probabilities come from
next-token queries (``logprob_token_ids``) at each choice point, which prefix caching
makes cheap: the transcript before a choice point is already in the cache.

Sample mode sends one request per choice point (its true history up to ``<<``) with
``SamplingParams(n=1, seed=...)`` and the stop string ``>>``. Each choice point's
seed is a hash of the run's seed and its index, never ``seed + k``: vLLM seeds the
children of an ``n > 1`` request ``seed + i``, so sequential seeds would share random
streams. Prefix caching serves the shared history; requests go to vLLM in batches of
``engine.batch_size``, which it schedules together, and a batch never splits the runs
of a (person, persona) (study.engines.groups): their choice-point prompts share every
prefix, which vLLM computes once and serves from its cache to the other runs, each run
still drawing with its own seed (never one ``n > 1`` request, whose children's seeds
would be ``seed + i``, and which vLLM's V1 engine runs as separate requests anyway).
vLLM caches whole blocks of ``engine.block_size`` tokens, and caches a block when it
schedules it, so requests of one batch share it too; what it cannot share is a
prompt's last, unfilled block before the ``<<``, which every run computes (1 to
``block_size`` tokens per choice point and run; measured in docs/sections/engines.md,
checked in tests/engines_vllm/test_grouped_sampling.py). ``tokens_evaluated`` counts
what vLLM computed: prompt tokens not served from its cache
(``RequestOutput.num_cached_tokens``) plus the sampled tokens.

The determinism settings (dtype, seed, eager mode, batch invariance, prefix caching)
are part of the fingerprint, so results computed under different ones never mix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from study.code_version import code_version
from study.engines.base import SampleRequest, SampleResult, ScoreRequest, ScoreResult
from study.engines.config import EngineConfig, ModelConfig, VllmEngineConfig
from study.engines.groups import group_batches
from study.engines.seeds import stable_int
from study.engines.vllm_model import running_python, vllm_weights
from study.engines.vllm_plan import TokenPlan, plan_options, plan_tokens, score_result
from study.errors import ConfigError, StudyInputError

STOP = ">>"


def import_vllm() -> Any:
    """vLLM, or a ConfigError that says how to get it."""
    try:
        import vllm
    except ImportError as err:
        raise ConfigError(
            "engine=vllm needs vLLM in this Python environment: `pip install '.[vllm]'` on a "
            "GPU machine; on the CPU use engine=vllm_server, which runs vLLM from its own "
            f"environment (`make vllm-env`). ({err})"
        ) from None
    return vllm


def choice_seed(run_seed: int, choice: int) -> int:
    """The seed of one choice point's sample within a run (63 bits, as vLLM allows).

    >>> choice_seed(7, 0) != choice_seed(7, 1) and choice_seed(7, 1) != choice_seed(8, 0)
    True
    """
    return stable_int("choice", run_seed, choice, bits=63)


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def request_owner(tags: Sequence[tuple[str, str]]) -> str | None:
    return dict(tags).get("participant")


class VllmEngine:
    """See the module docstring."""

    def __init__(self, settings: VllmEngineConfig, model: ModelConfig) -> None:
        if settings.batch_invariant:
            # Read by vLLM at import and engine start; must be set before either.
            os.environ["VLLM_BATCH_INVARIANT"] = "1"
        vllm = import_vllm()
        self._vllm = vllm
        self.settings = settings
        self.model = model
        self.weights = vllm_weights(model, settings.weights, running_python())
        options: dict[str, Any] = {}
        if settings.max_model_len is not None:
            options["max_model_len"] = settings.max_model_len
        if settings.max_num_seqs is not None:
            options["max_num_seqs"] = settings.max_num_seqs
        if settings.block_size is not None:
            options["block_size"] = settings.block_size
        self.llm = vllm.LLM(
            model=str(self.weights.path),
            tokenizer=str(self.weights.path),
            dtype=settings.dtype,
            seed=settings.seed,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            enable_prefix_caching=settings.enable_prefix_caching,
            enforce_eager=settings.enforce_eager,
            **options,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.max_model_len = int(self.llm.model_config.max_model_len)
        self._bos_added = bool(self.tokenizer.encode("", add_special_tokens=True))

    # -- identity -------------------------------------------------------------------

    def fingerprint(self) -> Mapping[str, str]:
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        return {
            "engine": "vllm",
            "engine_version": str(self._vllm.__version__),
            # This module's code (and what it imports): a changed engine is new results.
            "code_version": code_version(__name__),
            "model": self.model.name,
            "model_sha256": self.weights.sha256,
            "device": device,
            **determinism(self.settings, self.max_model_len),
        }

    # -- tokens ---------------------------------------------------------------------

    def encode(self, text: str, first: bool, template: bool) -> list[int]:
        # Transcript text is never read as special-token markup; chat-template text is.
        return list(
            self.tokenizer.encode(text, add_special_tokens=first, split_special_tokens=not template)
        )

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text, True, False))

    def chat_prompt(self, user: str) -> str | None:
        if not getattr(self.tokenizer, "chat_template", None):
            return None
        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
        )
        bos = self.tokenizer.bos_token
        # The tokenizer adds BOS to the first piece itself; one written by the template
        # would double it.
        if self._bos_added and bos and text.startswith(bos):
            text = text[len(bos) :]
        return str(text)

    def _plan(self, prompt: str, spans, template_chars: int, tags, extra: int) -> TokenPlan:
        try:
            plan = plan_tokens(prompt, spans, template_chars, self.encode)
        except ValueError as err:
            raise StudyInputError(str(err), participant=request_owner(tags)) from None
        if len(plan.ids) + extra > self.max_model_len:
            raise StudyInputError(
                f"the prompt has {len(plan.ids)} tokens, more than vLLM's context window "
                f"({self.max_model_len}); raise engine.max_model_len if the model allows it, "
                "or use engine=llamacpp, which scores long transcripts in a rolling window",
                participant=request_owner(tags),
                field="text",
            )
        return plan

    def _run(self, prompts: list[list[int]], params: list[Any]) -> list[Any]:
        token_prompts = [self._vllm.TokensPrompt(prompt_token_ids=ids) for ids in prompts]
        return list(self.llm.generate(token_prompts, params, use_tqdm=False))

    # -- score ----------------------------------------------------------------------

    def score(self, requests: Sequence[ScoreRequest]) -> Iterator[ScoreResult]:
        for batch in batches(requests, self.settings.batch_size):
            yield from self._score_batch(batch)

    def _score_batch(self, batch: Sequence[ScoreRequest]) -> list[ScoreResult]:
        SamplingParams = self._vllm.SamplingParams
        plans = [self._plan(r.prompt, r.spans, r.template_chars, r.tags, extra=1) for r in batch]
        prompt_pass = SamplingParams(
            max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False
        )
        outputs = self._run([list(p.ids) for p in plans], [prompt_pass] * len(plans))

        option_plans = [
            plan_options(plan, r.options, self.encode) if r.options is not None else None
            for plan, r in zip(plans, batch, strict=True)
        ]
        queries = [q for op in option_plans if op is not None for q in op.queries]
        answers = self._run(
            [list(q.prompt) for q in queries],
            [
                SamplingParams(
                    max_tokens=1,
                    temperature=0.0,
                    # vLLM wants logprobs equal to the number of named tokens.
                    logprobs=len(q.targets),
                    logprob_token_ids=list(q.targets),
                    detokenize=False,
                )
                for q in queries
            ],
        )

        results = []
        cursor = 0
        for plan, output, option_plan in zip(plans, outputs, option_plans, strict=True):
            logprobs = [None] + [
                position[token].logprob
                for position, token in zip(output.prompt_logprobs[1:], plan.ids[1:], strict=True)
            ]
            evaluated = len(plan.ids)
            option_probs = None
            if option_plan is not None:
                mine = answers[cursor : cursor + len(option_plan.queries)]
                cursor += len(option_plan.queries)
                option_probs = option_plan.probabilities(
                    [{t: lp.logprob for t, lp in a.outputs[0].logprobs[0].items()} for a in mine]
                )
                evaluated += sum(
                    len(q.prompt) - (a.num_cached_tokens or 0)
                    for q, a in zip(option_plan.queries, mine, strict=True)
                )
            results.append(score_result(plan, logprobs, option_probs, evaluated))
        return results

    # -- sample ---------------------------------------------------------------------

    def sample(self, requests: Sequence[SampleRequest]) -> Iterator[SampleResult]:
        # The runs of a prompt go to vLLM in one batch (unless there are more of them
        # than engine.batch_size), so prefix caching computes their history once.
        for batch in group_batches(requests, self.settings.batch_size):
            yield from self._sample_batch(batch)

    def _sample_batch(self, batch: Sequence[SampleRequest]) -> list[SampleResult]:
        SamplingParams = self._vllm.SamplingParams
        prompts: list[list[int]] = []
        params = []
        plans = []
        for request in batch:
            plan = self._plan(
                request.prompt,
                request.spans,
                request.template_chars,
                request.tags,
                extra=request.max_tokens,
            )
            plans.append(plan)
            for choice, (start, _end) in enumerate(plan.responses):
                prompts.append(list(plan.ids[:start]))
                params.append(
                    SamplingParams(
                        n=1,
                        seed=choice_seed(request.seed, choice),
                        temperature=request.temperature,
                        max_tokens=request.max_tokens,
                        stop=[STOP],
                    )
                )
        outputs = self._run(prompts, params)
        results = []
        cursor = 0
        for plan in plans:
            mine = outputs[cursor : cursor + len(plan.responses)]
            cursor += len(plan.responses)
            evaluated = sum(
                len(o.prompt_token_ids) - (o.num_cached_tokens or 0) + len(o.outputs[0].token_ids)
                for o in mine
            )
            results.append(
                SampleResult(
                    responses=tuple(o.outputs[0].text for o in mine),
                    tokens_evaluated=evaluated,
                    prompt_tokens=len(plan.ids),
                )
            )
        return results

    def close(self) -> None:
        # vLLM stops its engine-core process when the LLM object goes away.
        del self.llm


def determinism(settings: VllmEngineConfig, max_model_len: int) -> dict[str, str]:
    """The settings that change vLLM's numbers, for the fingerprint."""
    return {
        "dtype": settings.dtype,
        "seed": str(settings.seed),
        "enforce_eager": str(settings.enforce_eager),
        "batch_invariant": str(settings.batch_invariant),
        "prefix_caching": str(settings.enable_prefix_caching),
        "max_model_len": str(max_model_len),
        "block_size": str(settings.block_size or "default"),
    }


def build(engine: EngineConfig, model: ModelConfig) -> VllmEngine:
    if not isinstance(engine, VllmEngineConfig):
        engine = VllmEngineConfig()
    check_settings(engine)
    return VllmEngine(engine, model)


def check_settings(engine: VllmEngineConfig) -> None:
    if not 0 < engine.gpu_memory_utilization <= 1:
        raise ConfigError(
            "engine.gpu_memory_utilization must be in (0, 1] (on the CPU it is the share of "
            f"RAM vLLM reserves; 0.2 suits small models), got {engine.gpu_memory_utilization}"
        )
    if engine.batch_size < 1:
        raise ConfigError(f"engine.batch_size must be at least 1, got {engine.batch_size}")
