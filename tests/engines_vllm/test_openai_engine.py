"""engine=openai against a real server: the managed vLLM server behind a loopback proxy
that demands an API key and can fail, stall or count requests on demand."""

from __future__ import annotations

import json
import logging
import time

import pytest

from study.engines.base import SampleRequest
from study.engines.config import HttpClientConfig, OpenAIEngineConfig
from study.engines.openai_compat import OpenAICompatibleEngine
from study.engines.openai_http import ServerError

pytestmark = pytest.mark.vllm

KEY_ENV = "STUDY_TEST_OPENAI_KEY"


def client_engine(proxy, smollm2, **client) -> OpenAICompatibleEngine:
    settings = OpenAIEngineConfig(
        url=proxy.url,
        api_key_env=KEY_ENV,
        model_revision="gguf-q4_1",
        client=HttpClientConfig(**{"retries": 0, "backoff_s": 0.05, **client}),
    )
    return OpenAICompatibleEngine(settings, smollm2)


def test_results_equal_the_managed_engine_through_the_same_server(
    proxy, served, smollm2, thoma, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, proxy.key)
    engine = client_engine(proxy, smollm2)
    requests = thoma(2, choices=4)
    assert list(engine.score(requests)) == list(served.score(requests))
    sample = SampleRequest(requests[0].prompt, requests[0].spans, seed=3, max_tokens=4)
    assert next(engine.sample([sample])).responses == next(served.sample([sample])).responses
    assert engine.fingerprint()["engine"] == "openai"
    assert engine.fingerprint()["model_revision"] == "gguf-q4_1"


def test_api_key_never_leaks(proxy, smollm2, thoma, monkeypatch, caplog, capsys):
    monkeypatch.setenv(KEY_ENV, proxy.key)
    caplog.set_level(logging.DEBUG)
    engine = client_engine(proxy, smollm2, retries=1)
    requests = thoma(1, choices=3)
    scores = list(engine.score(requests))
    samples = list(engine.sample([SampleRequest(requests[0].prompt, requests[0].spans, seed=1)]))
    chat = engine.chat_prompt("hello")
    proxy.fail_next = 2  # a retried failure logs a warning, then gives up
    with pytest.raises(ServerError) as raised:
        engine.count_tokens("x")
    # The key was really sent...
    assert f"Bearer {proxy.key}" in proxy.authorizations
    # ...and appears nowhere we write or show.
    printed = capsys.readouterr()
    seen = [
        json.dumps(engine.fingerprint()),
        repr(engine.client),
        repr(engine.settings),
        repr(scores),
        repr(samples),
        repr(chat),
        repr(engine._token_cache),
        str(raised.value),
        caplog.text,
        printed.out,
        printed.err,
    ]
    assert "retrying" in caplog.text
    assert all(proxy.key not in text for text in seen)


def test_wrong_key_is_refused_with_the_variable_named(proxy, smollm2, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-0000")
    with pytest.raises(ServerError) as raised:
        client_engine(proxy, smollm2)
    message = str(raised.value)
    assert "401" in message and KEY_ENV in message
    assert "sk-wrong-key-0000" not in message


def test_transient_failures_are_retried_with_backoff(proxy, smollm2, thoma, monkeypatch):
    monkeypatch.setenv(KEY_ENV, proxy.key)
    engine = client_engine(proxy, smollm2, retries=2, backoff_s=0.2)
    request = thoma(1, with_options=False, choices=3)[0]
    before = proxy.requests
    proxy.fail_next = 2
    started = time.monotonic()
    result = next(engine.score([request]))
    assert len(result.nll) == len(request.spans)
    # Two failures, backoff 0.2 s then 0.4 s, then success.
    assert time.monotonic() - started >= 0.6
    assert proxy.requests - before >= 3
    # Out of retries: the error says how often it tried.
    proxy.fail_next = 3
    with pytest.raises(ServerError, match="after 3 tries: HTTP 503"):
        engine.count_tokens("a fresh text, not in the token cache")


def test_client_errors_are_not_retried(proxy, smollm2, monkeypatch):
    monkeypatch.setenv(KEY_ENV, proxy.key)
    engine = client_engine(proxy, smollm2, retries=3)
    proxy.fail_next, proxy.fail_status = 1, 400
    before = proxy.requests
    with pytest.raises(ServerError, match="HTTP 400"):
        engine.count_tokens("another fresh text")
    assert proxy.requests - before == 1


def test_timeout_ends_a_stalled_request(proxy, smollm2, monkeypatch):
    monkeypatch.setenv(KEY_ENV, proxy.key)
    engine = client_engine(proxy, smollm2, timeout_s=0.3)
    proxy.delay_s = 1.5
    started = time.monotonic()
    with pytest.raises(ServerError, match="timed out"):
        engine.count_tokens("a stalled request")
    assert time.monotonic() - started < 1.2


def test_concurrency_limit_bounds_requests_in_flight(proxy, smollm2, thoma, monkeypatch):
    monkeypatch.setenv(KEY_ENV, proxy.key)
    engine = client_engine(proxy, smollm2, concurrency=2)
    requests = thoma(6, with_options=False, choices=2)
    proxy.delay_s = 0.05
    proxy.max_in_flight = 0
    results = list(engine.score(requests))
    assert len(results) == 6
    assert proxy.max_in_flight == 2


def test_text_prompts_give_the_same_nll_where_tokens_do_not_cross_markers(
    proxy, served, smollm2, thoma, monkeypatch
):
    """tokenizer=none (hosted APIs) sends text and finds a response's tokens by offsets.
    On thoma2025riskychoice the tokenizer keeps `` <<`` and the letter apart, so the
    server's own tokenisation equals the piecewise one and the NLLs agree."""
    monkeypatch.setenv(KEY_ENV, proxy.key)
    settings = OpenAIEngineConfig(url=proxy.url, api_key_env=KEY_ENV, tokenizer="none")
    engine = OpenAICompatibleEngine(settings, smollm2)
    requests = thoma(1, choices=3)
    text_mode = list(engine.score(requests))
    token_mode = list(served.score(requests))
    for text_result, token_result in zip(text_mode, token_mode, strict=True):
        assert text_result.nll == pytest.approx(token_result.nll, abs=1e-3)
        assert text_result.n_tokens == token_result.n_tokens
        for a, b in zip(text_result.option_probs, token_result.option_probs, strict=True):
            assert a == pytest.approx(b, abs=1e-3)
    assert engine.chat_prompt("hi") is None
