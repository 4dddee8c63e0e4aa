"""Same model, checked: the activations engine's own logits give the NLL of each
response, which must reproduce llama.cpp's score mode on the same prompt within the
cross-engine tolerance measured for vLLM against llama.cpp (tests/engines_vllm/
test_cross_engine.py: per choice point 0.5 nats, on average 0.1, a bias of 0.05).

Measured on the first 3 participants of thoma2025riskychoice (27 choice points; the
test takes 2, to stay under a minute):
SmolLM2 max |diff| 0.16, mean |diff| 0.04, mean diff +0.02; Gemma 3 max 0.22, mean
0.07, mean +0.01 nats. Both engines must also cut the same tokens: an off-by-one, a
missing BOS (which Gemma's transformers tokenizer drops, study.activations.bos) or a
merged marker shows as a different token count and moves NLLs by nats.
"""

from __future__ import annotations

import math

import pytest

from study.engines.base import ScoreRequest
from study.engines.config import LlamaCppEngineConfig
from study.engines.registry import build_engine

from .conftest import MODELS, thoma_requests

pytestmark = [pytest.mark.vllm, pytest.mark.llm]


@pytest.mark.parametrize("model", ["smollm2_135m", "gemma3_270m"])
def test_nll_reproduces_llamacpp_within_the_cross_engine_tolerance(model, request):
    fixture = "smollm2_engine" if model == "smollm2_135m" else "gemma_engine"
    engine = request.getfixturevalue(fixture)
    requests = thoma_requests(2, layers=(0,))
    llama = build_engine(LlamaCppEngineConfig(), MODELS[model])
    try:
        reference = list(
            llama.score([ScoreRequest(r.prompt, r.spans, tags=r.tags) for r in requests])
        )
    finally:
        llama.close()
    results = [engine.compute(r) for r in requests]
    diffs = []
    for ours, theirs in zip(results, reference, strict=True):
        assert ours.prompt_tokens == theirs.prompt_tokens
        assert ours.n_tokens == theirs.n_tokens
        diffs += [a - b for a, b in zip(ours.nll, theirs.nll, strict=True)]
    assert len(diffs) == 18
    assert max(abs(d) for d in diffs) <= 0.5
    assert math.fsum(abs(d) for d in diffs) / len(diffs) <= 0.1
    assert abs(math.fsum(diffs) / len(diffs)) <= 0.05
