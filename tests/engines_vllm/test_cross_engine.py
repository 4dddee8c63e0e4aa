"""The same weights through two engines: SmolLM2-135M-Instruct Q4_1 through llama.cpp,
and its dequantized float32 copy through vLLM, must give close NLLs.

Why they are close but not equal: the weights are identical (vLLM's are the values the
Q4_1 blocks stand for), but llama.cpp's CPU kernels multiply those blocks with
activations rounded to 8 bits (Q8_1), while vLLM keeps activations in float32; vLLM
itself matches a plain float32 forward pass to within 4e-5 nats (test_inprocess_engine.py).

The tolerance was measured on this machine, on the first 10 participants of
thoma2025riskychoice (90 choice points, mean NLL 1.02 nats), with llama.cpp's default
batch-invariant settings: the difference llama.cpp - vLLM had mean +0.014, mean
absolute 0.046, 99th percentile 0.17 and maximum 0.22 nats (correlation of the NLLs
0.998); option probabilities differed by at most 0.060. (With weight repacking and flash
attention on: mean -0.002, mean absolute 0.044, maximum 0.25.) The test allows about
twice those: per choice point 0.5 nats, on average 0.1, a bias of 0.05, option
probabilities 0.15. A mistake in either engine's alignment of
tokens to responses (an off-by-one, a missing BOS, a merged marker) moves NLLs by
nats, not hundredths.
"""

from __future__ import annotations

import math

import pytest

from study.engines.config import LlamaCppEngineConfig
from study.engines.registry import build_engine

pytestmark = [pytest.mark.vllm, pytest.mark.llm]


@pytest.fixture(scope="module")
def both_engines(served, smollm2, thoma):
    requests = thoma(3)
    llama = build_engine(LlamaCppEngineConfig(), smollm2)
    try:
        from_llama = list(llama.score(requests))
    finally:
        llama.close()
    return requests, from_llama, list(served.score(requests))


def test_both_engines_tokenise_identically(both_engines):
    _requests, from_llama, from_vllm = both_engines
    for a, b in zip(from_llama, from_vllm, strict=True):
        assert a.prompt_tokens == b.prompt_tokens
        assert a.n_tokens == b.n_tokens


def test_nll_agrees_within_the_measured_tolerance(both_engines):
    _requests, from_llama, from_vllm = both_engines
    diffs = [
        x - y
        for a, b in zip(from_llama, from_vllm, strict=True)
        for x, y in zip(a.nll, b.nll, strict=True)
    ]
    assert len(diffs) >= 25
    assert max(abs(d) for d in diffs) <= 0.5
    assert math.fsum(abs(d) for d in diffs) / len(diffs) <= 0.1
    assert abs(math.fsum(diffs) / len(diffs)) <= 0.05


def test_option_probabilities_agree_within_the_measured_tolerance(both_engines):
    _requests, from_llama, from_vllm = both_engines
    for a, b in zip(from_llama, from_vllm, strict=True):
        for pa, pb in zip(a.option_probs, b.option_probs, strict=True):
            assert pa.keys() == pb.keys()
            assert all(abs(pa[o] - pb[o]) <= 0.15 for o in pa)
