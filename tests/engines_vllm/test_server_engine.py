"""engine=vllm_server for real: vLLM's CPU build serving SmolLM2-135M-Instruct on loopback."""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path

import pytest

from study.engines.base import Engine, SampleRequest, ScoreRequest
from study.engines.config import VllmServerEngineConfig
from study.engines.registry import build_engine
from study.engines.vllm import choice_seed
from study.engines.vllm_plan import NextTokenQuery
from study.errors import ConfigError, StudyInputError

pytestmark = pytest.mark.vllm


def test_engine_honours_the_protocol_shapes(served, thoma):
    requests = thoma(2)
    results = list(served.score(requests))
    assert isinstance(served, Engine)
    assert len(results) == len(requests)
    for request, result in zip(requests, results, strict=True):
        k = len(request.spans)
        assert len(result.nll) == len(result.n_tokens) == len(result.dropped_tokens) == k
        assert all(n >= 1 for n in result.n_tokens)
        assert all(math.isfinite(x) and x > 0 for x in result.nll)
        assert result.option_probs is not None and len(result.option_probs) == k
        for probs, options in zip(result.option_probs, request.options, strict=True):
            assert set(probs) == set(options)
            assert math.fsum(probs.values()) == pytest.approx(1.0, abs=1e-12)
        # The option queries add work on top of the one pass over the prompt.
        assert result.tokens_evaluated > result.prompt_tokens > 0


def test_one_pass_equals_scoring_each_choice_alone(served, thoma):
    """The Psych-201 check: the NLL from one pass equals the NLL of each response given
    only the context up to its ``<<`` (one request per choice point)."""
    request = thoma(1, with_options=False, choices=4)[0]
    one_pass = next(served.score([request]))
    plan = served._plan(request.prompt, request.spans, 0, request.tags)
    for choice, (start, end) in enumerate(plan.responses):
        logprobs, _ = served._echo(list(plan.ids[:end]))
        alone = -math.fsum(logprobs["token_logprobs"][start:end])
        assert one_pass.nll[choice] == pytest.approx(alone, abs=1e-3)


def test_option_queries_agree_with_prompt_logprobs(served, thoma):
    """Two code paths give log P(human response | context): the prompt pass (echo) and
    the next-token query behind option probabilities (logprob_token_ids)."""
    request = thoma(1)[0]
    result = next(served.score([request]))
    plan = served._plan(request.prompt, request.spans, 0, request.tags)
    for choice, (start, end) in enumerate(plan.responses):
        assert end - start == 1  # thoma's responses are single letters
        found, _ = served._next_tokens(NextTokenQuery(plan.ids[:start], (plan.ids[start],)))
        assert -found[plan.ids[start]] == pytest.approx(result.nll[choice], abs=1e-3)


def test_seeded_samples_reproduce_and_differ_between_seeds(served, thoma):
    base = thoma(2, with_options=False)
    first = SampleRequest(base[0].prompt, base[0].spans, seed=11, max_tokens=4)
    other_seed = dataclasses.replace(first, seed=12)
    other_person = SampleRequest(base[1].prompt, base[1].spans, seed=11, max_tokens=4)
    alone = next(served.sample([first]))
    batched = list(served.sample([other_person, first, other_seed]))
    assert len(alone.responses) == len(first.spans)
    # Same seed: the same samples, whatever else is in the batch.
    assert batched[1].responses == alone.responses
    # Another seed: another random stream (ten choice points all equal would be a fluke).
    assert batched[2].responses != alone.responses
    assert all(">>" not in text for text in alone.responses)
    assert alone.tokens_evaluated > 0


def test_choice_seeds_are_not_sequential():
    """vLLM seeds an n>1 request's children seed+i; our per-choice seeds must not
    collide with those of a neighbouring run."""
    seeds = {choice_seed(run, k) for run in range(50) for k in range(50)}
    assert len(seeds) == 2500
    assert not any(choice_seed(7, k) == 7 + k for k in range(50))


def test_fingerprint_names_weights_and_determinism_settings(served, gguf_sha256):
    fingerprint = served.fingerprint()
    assert fingerprint["engine"] == "vllm_server"
    assert fingerprint["engine_version"] == "0.32.0"
    assert fingerprint["model_sha256"] == gguf_sha256
    assert fingerprint["dtype"] == "float32"
    assert fingerprint["enforce_eager"] == "True"
    assert fingerprint["batch_invariant"] == "False"
    assert fingerprint["prefix_caching"] == "True"
    assert fingerprint["max_model_len"] == "8192"
    assert fingerprint["block_size"] == "32"
    # The port changes every start; results must not depend on it.
    assert not any("127.0.0.1" in value for value in fingerprint.values())


def test_chat_prompt_wraps_the_message_for_the_assistant_turn(served):
    text = served.chat_prompt("Which letter do you choose?")
    assert text is not None
    assert "Which letter do you choose?" in text
    assert text.rstrip().endswith("assistant")


def test_bad_span_names_the_participant(served):
    request = ScoreRequest("a <<B>> c", ((5, 4),), tags=(("participant", "p7"),))
    with pytest.raises(StudyInputError, match="participant 'p7'"):
        list(served.score([request]))


def test_failed_start_reports_the_server_log(smollm2, weights):
    # A real interpreter without vLLM (this one): the server exits at once, and the
    # error carries its log.
    settings = VllmServerEngineConfig(python=sys.executable)
    with pytest.raises(ConfigError, match="exited with status 1") as raised:
        build_engine(settings, smollm2)
    assert "No module named" in str(raised.value)
    # A failed start keeps its log (the message names it) for the user to read.
    log = Path(re.search(r"its log \((.+?)\)", str(raised.value)).group(1))
    assert "No module named" in log.read_text()
    log.unlink()


def test_missing_interpreter_is_a_config_error(smollm2):
    settings = VllmServerEngineConfig(python="/nonexistent/bin/python")
    with pytest.raises(ConfigError, match="make vllm-env"):
        build_engine(settings, smollm2)
