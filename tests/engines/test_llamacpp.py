"""The llama.cpp engine with the real CPU models (Gemma 3 270M, SmolLM2-135M-Instruct)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace

import pytest

from study.engines.base import SampleRequest, ScoreRequest
from study.engines.llama_runtime import MIN_ROWS
from tests.engines.conftest import participants, score_request, truncated

pytestmark = pytest.mark.llm


def recorded_batches(engine, monkeypatch) -> list[int]:
    """The rows (filler rows included) of the batches ``engine`` hands llama.cpp from
    now on (this test)."""
    sizes: list[int] = []
    decode = engine.runtime.decode

    def recording(tokens, start, outputs, *, min_rows=1) -> None:
        sizes.append(max(len(tokens), min_rows))
        decode(tokens, start, outputs, min_rows=min_rows)

    monkeypatch.setattr(engine.runtime, "decode", recording)
    return sizes


@pytest.mark.slow
def test_one_pass_equals_per_choice_scoring_bit_for_bit(each_engine, monkeypatch) -> None:
    """All choice points in one forward pass give exactly the NLLs of scoring each choice
    point after its own context (the naive method), though the two cut the tokens into
    different batches, none smaller than MIN_ROWS."""
    person = participants("thoma2025riskychoice", 1)[0]
    request = score_request(person)
    sizes = recorded_batches(each_engine, monkeypatch)
    one_pass = next(each_engine.score([request]))
    one_pass_plan = list(sizes)
    naive = next(each_engine.score_per_choice([request]))
    assert len(one_pass.nll) == len(person.choices) >= 6
    assert one_pass.nll == naive.nll
    assert min(sizes) >= MIN_ROWS and sizes[len(one_pass_plan) :] != one_pass_plan
    # One pass reads each prompt token once; per-choice re-reads the history.
    assert one_pass.tokens_evaluated == one_pass.prompt_tokens == sum(one_pass_plan)
    assert naive.tokens_evaluated > 4 * one_pass.tokens_evaluated


def excerpt(person, first: int, last: int, lead: int) -> ScoreRequest:
    """A prompt cut from ``person``'s transcript: ``lead`` characters before choice
    ``first`` up to the end of choice ``last`` (choice points near the prompt's start)."""
    begin = person.choices[first].start - lead
    end = person.choices[last].end + len(">>")
    spans = tuple((c.start - begin, c.end - begin) for c in person.choices[first : last + 1])
    return ScoreRequest(person.transcript[begin:end], spans)


def test_one_pass_equals_per_choice_scoring_in_a_prompts_first_tokens(
    each_engine, monkeypatch
) -> None:
    """Choice points within a prompt's first MIN_ROWS tokens, in prompts shorter and
    longer than MIN_ROWS: one pass and per-choice scoring cut them into batches of every
    size from 1 token up, which the engine pads to MIN_ROWS rows, so flash attention's
    kernel for large batches computes every position and the NLLs are the same bits."""
    person = participants("thoma2025riskychoice", 1)[0]
    requests = [excerpt(person, 1, 1, 12), excerpt(person, 2, 3, 30), excerpt(person, 1, 6, 4)]
    sizes = recorded_batches(each_engine, monkeypatch)
    for request in requests:
        tokens = each_engine.tokenize(request.prompt, request.spans)
        assert tokens.responses[0][0] < 16  # the first choice point a few tokens in
        one_pass = next(each_engine.score([request]))
        assert one_pass.nll == next(each_engine.score_per_choice([request])).nll
    prompts = [len(each_engine.tokenize(r.prompt, r.spans).tokens) for r in requests]
    assert min(prompts) < MIN_ROWS < max(prompts)
    assert min(sizes) == MIN_ROWS  # padded batches were made, and none is smaller


def test_batches_of_min_rows_give_the_logits_of_a_larger_batch(each_engine) -> None:
    """A token's logits are the same bits in a batch of MIN_ROWS tokens as in one of
    2 x MIN_ROWS. MIN_ROWS is what flash attention needs: with it on, a batch one token
    short of MIN_ROWS takes another attention kernel and changes the bits; with it off,
    such a batch is still invariant (measured with llama-cpp-python 0.3.36)."""
    runtime = each_engine.runtime
    transcript = participants("dezfouli2019", 1)[0].transcript
    tokens = runtime.tokenize(transcript, bos=True)[: 3 * MIN_ROWS]

    def digests(plan: list[int]) -> list[str]:
        runtime.clear()
        runtime.decode(tokens[:MIN_ROWS], 0, [False] * MIN_ROWS)
        rows = []
        start = MIN_ROWS
        for size in plan:
            runtime.decode(tokens[start : start + size], start, [True] * size)
            rows += [hashlib.sha256(runtime.logits(i).tobytes()).hexdigest() for i in range(size)]
            start += size
        return rows

    reference = digests([2 * MIN_ROWS])
    assert digests([MIN_ROWS, MIN_ROWS]) == reference
    short = digests([MIN_ROWS - 1, MIN_ROWS + 1])
    assert (short == reference) == (not each_engine.settings.flash_attn)


def test_option_probabilities_single_token_and_exact_pass_agree(gemma) -> None:
    person = truncated(participants("thoma2025riskychoice", 1)[0], 3)
    single = next(gemma.score([score_request(person, options=True)]))
    assert single.option_probs is not None
    for probs, response, nll in zip(
        single.option_probs, [c.response for c in person.choices], single.nll, strict=True
    ):
        assert math.isclose(sum(probs.values()), 1.0, rel_tol=1e-12)
        # Normalising over the options can only raise the human response's probability.
        assert probs[response] >= math.exp(-nll) - 1e-12
    # A multi-token option sends the whole set through exact per-option passes; the
    # single-token options' odds must not change.
    options = (*sorted(single.option_probs[0]), "OQ OQ")
    spans = tuple((c.start, c.end) for c in person.choices)
    exact = next(
        gemma.score([ScoreRequest(person.transcript, spans, options=(options,) * len(spans))])
    )
    for quick, slow in zip(single.option_probs, exact.option_probs, strict=True):
        first, second = sorted(quick)
        assert math.isclose(quick[first] / quick[second], slow[first] / slow[second], rel_tol=1e-6)
    assert exact.tokens_evaluated > single.tokens_evaluated


@pytest.mark.slow
def test_long_prompts_roll_through_a_small_window(each_engine, monkeypatch) -> None:
    """A prompt four times the context window streams through a rolling window: choice
    points before the first rebuild get exactly the scores of the full window, every
    later one exactly the score of the tokens it saw (the head, then the history the
    window kept) scored on their own; no batch is smaller than MIN_ROWS (a window of
    256 caps the head at 64 tokens)."""
    from study.engines import llamacpp

    person = participants("thoma2025riskychoice", 1)[0]
    request = score_request(person)
    full = next(each_engine.score([request]))
    small = llamacpp.build(replace(each_engine.settings, n_ctx=256), each_engine.model)
    try:
        sizes = recorded_batches(small, monkeypatch)
        windowed = next(small.score([request]))
        assert small.runtime.n_ctx == 256 and min(sizes) >= MIN_ROWS
        prompt = small.tokenize(request.prompt, request.spans)
        head = prompt.tokens[: min(prompt.head, small.runtime.n_ctx // 4)]
        seen_all = [k for k, dropped in enumerate(windowed.dropped_tokens) if dropped == 0]
        rolled = [k for k, dropped in enumerate(windowed.dropped_tokens) if dropped > 0]
        assert seen_all and len(rolled) >= 3
        for k in seen_all:
            assert windowed.nll[k] == full.nll[k]
        for k in rolled:
            start, end = prompt.responses[k]
            seen = [*head, *prompt.tokens[len(head) + windowed.dropped_tokens[k] : start]]
            logp, _ = small._continuation_logprob(len(head), seen, prompt.tokens[start:end])
            assert windowed.nll[k] == -logp, k
    finally:
        small.close()
    assert windowed.prompt_tokens == full.prompt_tokens > 2 * 256


def test_sampling_is_seeded_and_stops_at_the_marker(smollm) -> None:
    person = truncated(participants("thoma2025riskychoice", 1)[0], 4)
    spans = tuple((c.start, c.end) for c in person.choices)

    def draw(seed: int):
        return next(smollm.sample([SampleRequest(person.transcript, spans, seed=seed)]))

    first, again = draw(11), draw(11)
    assert first == again
    assert len(first.responses) == len(spans)
    assert not any(">>" in r for r in first.responses)
    assert len({first.responses, *(draw(s).responses for s in (12, 13))}) > 1
    # The prefix is reused: sampling reads the prompt once plus the generated tokens.
    assert first.tokens_evaluated <= first.prompt_tokens + 16 * len(spans)


def test_piecewise_tokens_spell_the_prompt(gemma) -> None:
    for experiment in ("thoma2025riskychoice", "dezfouli2019", "busch2024_stroop"):
        person = participants(experiment, 1)[0]
        spans = [(c.start, c.end) for c in person.choices]
        tokens = gemma.tokenize(person.transcript, spans)
        text = b"".join(gemma.runtime.piece(t) for t in tokens.tokens[1:]).decode()
        assert text == person.transcript
        for (start, end), choice in zip(tokens.responses, person.choices, strict=True):
            spelled = b"".join(gemma.runtime.piece(t) for t in tokens.tokens[start:end])
            assert spelled.decode() == choice.response


def test_chat_template_of_the_instruct_model(smollm, gemma) -> None:
    framed = smollm.chat_prompt("Please take part.")
    assert framed is not None and "Please take part." in framed
    assert framed.rstrip().endswith("assistant")
    prompt = framed + "You press <<L>>."
    start = prompt.index("<<L>>") + 2
    tokens = smollm.tokenize(prompt, [(start, start + 1)], template_chars=len(framed))
    as_text = smollm.tokenize(prompt, [(start, start + 1)])
    # Template markup becomes special tokens, not characters.
    assert len(tokens.tokens) < len(as_text.tokens)
    result = next(
        smollm.score([ScoreRequest(prompt, ((start, start + 1),), template_chars=len(framed))])
    )
    assert math.isfinite(result.nll[0])
    assert gemma.chat_prompt("hi") is None  # a base model: no template


def test_same_config_and_seed_give_identical_bytes(each_engine, tmp_path, compose_config) -> None:
    from study.respond import respond

    people = [truncated(p, 3) for p in participants("thoma2025riskychoice", 2)]
    overrides = ["stage=respond", "personas=[own]", "runs=2", "sampling.max_tokens=4"]
    outcomes = [
        respond(compose_config(*overrides, f"out={tmp_path / name}"), people, engine=each_engine)
        for name in ("a", "b")
    ]
    assert all(o.computed == 2 * (1 + 2) and o.reused == 0 for o in outcomes)
    for name in ("scores", "samples"):
        assert outcomes[0].paths[name].read_bytes() == outcomes[1].paths[name].read_bytes()
    scores = outcomes[0].scores
    assert set(scores["model_sha256"]) == {each_engine.sha256}
    assert scores["nll"].is_finite().all() and (scores["nll"] > 0).all()
    # Flash attention changes the bits, so it keys the store; the thread count does not
    # (no batch of fewer than 8 rows with it on, see test_llamacpp_grouped).
    fingerprint = each_engine.fingerprint()
    flash = each_engine.settings.flash_attn
    assert fingerprint["flash_attn"] == str(flash)
    assert "n_threads" not in fingerprint


def test_small_batches_are_refused_where_they_would_break_invariance() -> None:
    from study.engines import llamacpp
    from study.engines.config import LlamaCppEngineConfig, ModelConfig
    from study.errors import ConfigError

    model = ModelConfig(name="any", gguf="/nonexistent/model.gguf")
    with pytest.raises(ConfigError, match=f"n_batch must be at least {2 * MIN_ROWS}"):
        llamacpp.build(LlamaCppEngineConfig(n_batch=2 * MIN_ROWS - 1), model)


def test_flash_attention_is_a_setting_of_its_own(compose_config) -> None:
    default = compose_config("engine=llamacpp").engine
    assert default.flash_attn is True and default.batch_invariant is True
    switched = compose_config("engine=llamacpp", "engine.flash_attn=false").engine
    assert switched.flash_attn is False and switched.batch_invariant is True
