"""engine=vllm (vLLM's offline LLM class, in-process) for real, in the vLLM environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from study.engines.base import SampleRequest
from study.engines.config import ModelConfig, VllmEngineConfig
from study.engines.models import resolve_gguf
from study.engines.registry import build_engine
from study.engines.vllm_model import default_vllm_python
from study.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("inprocess_driver.py")


def test_without_vllm_the_error_points_to_the_server_engine():
    # This environment (the package's own) has no vLLM: the in-process engine must say
    # what to do instead of failing on an import deep inside.
    with pytest.raises(ConfigError, match="engine=vllm_server"):
        build_engine(VllmEngineConfig(), ModelConfig(name="m", gguf="/nonexistent.gguf"))


@pytest.fixture(scope="module")
def inprocess(smollm2, weights, thoma):
    """Results of the in-process engine, run by the driver under .venv-vllm's Python."""
    requests = thoma(2, choices=5)
    samples = [
        {"prompt": r.prompt, "spans": r.spans, "seed": 21 + i} for i, r in enumerate(requests)
    ]
    spec = {
        "model": smollm2.name,
        # The package that ships the GGUF is installed here, not in .venv-vllm.
        "gguf": str(resolve_gguf(smollm2)),
        "score": [{"prompt": r.prompt, "spans": r.spans, "options": r.options} for r in requests],
        "sample": samples,
    }
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [str(default_vllm_python()), str(DRIVER)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(x for x in completed.stdout.splitlines() if x.startswith("RESULT "))
    return requests, samples, json.loads(line.removeprefix("RESULT "))


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
