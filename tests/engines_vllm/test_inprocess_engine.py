"""engine=vllm (vLLM's offline LLM class, in-process) for real, in the vLLM environment."""

from __future__ import annotations

import pytest

from study.engines.base import SampleRequest
from study.engines.config import ModelConfig, VllmEngineConfig
from study.engines.registry import build_engine
from study.errors import ConfigError


def test_without_vllm_the_error_points_to_the_server_engine():
    # This environment (the package's own) has no vLLM: the in-process engine must say
    # what to do instead of failing on an import deep inside.
    with pytest.raises(ConfigError, match="engine=vllm_server"):
        build_engine(VllmEngineConfig(), ModelConfig(name="m", gguf="/nonexistent.gguf"))


@pytest.mark.vllm
def test_prompt_logprobs_match_a_plain_float32_forward_pass(inprocess):
    """vLLM's prompt log-probabilities equal transformers' on the same token ids and
    weights (both float32); measured here: at most 4e-5 nats, 1e-5 on average."""
    _requests, _samples, result = inprocess
    for scored, reference in zip(result["score"], result["reference_nll"], strict=True):
        assert scored["nll"] == pytest.approx(reference, abs=1e-3)


@pytest.mark.vllm
def test_inprocess_equals_the_managed_server(inprocess, served):
    """The same weights, settings and seeds in-process and behind the server: the same
    NLLs, option probabilities and samples."""
    requests, samples, result = inprocess
    for scored, server in zip(result["score"], served.score(requests), strict=True):
        assert scored["nll"] == pytest.approx(server.nll, abs=1e-4)
        assert tuple(scored["n_tokens"]) == server.n_tokens
        for a, b in zip(scored["option_probs"], server.option_probs, strict=True):
            assert a == pytest.approx(b, abs=1e-4)
    server_samples = served.sample(
        [SampleRequest(s["prompt"], s["spans"], seed=s["seed"], max_tokens=4) for s in samples]
    )
    assert [list(r.responses) for r in server_samples] == result["sample"]


@pytest.mark.vllm
def test_inprocess_fingerprint(inprocess, gguf_sha256):
    fingerprint = inprocess[2]["fingerprint"]
    assert fingerprint["engine"] == "vllm"
    assert fingerprint["model_sha256"] == gguf_sha256
    assert fingerprint["device"] == "cpu"
    assert fingerprint["enforce_eager"] == "True"
