"""The llama.cpp engine with the real CPU models (Gemma 3 270M, SmolLM2-135M-Instruct)."""

from __future__ import annotations

import math

import pytest

from study.engines.base import SampleRequest, ScoreRequest
from tests.engines.conftest import participants, score_request, truncated

pytestmark = pytest.mark.llm


@pytest.mark.slow
def test_one_pass_equals_per_choice_scoring(gemma, smollm) -> None:
    """All choice points in one forward pass give the NLLs of scoring each choice point
    after its own context (the naive method), within 1e-3 nats."""
    first, second = (truncated(p, 6) for p in participants("thoma2025riskychoice", 2))
    for engine, person in ((gemma, first), (smollm, second)):
        request = score_request(person)
        one_pass = next(engine.score([request]))
        naive = next(engine.score_per_choice([request]))
        assert len(one_pass.nll) == len(person.choices) == 6
        worst = max(abs(a - b) for a, b in zip(one_pass.nll, naive.nll, strict=True))
        assert worst <= 1e-3, (person.participant, worst)
        # One pass reads each prompt token once; per-choice re-reads the history.
        assert one_pass.tokens_evaluated == one_pass.prompt_tokens
        assert naive.tokens_evaluated > 4 * one_pass.tokens_evaluated


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


def test_long_prompts_roll_through_a_small_window(gemma) -> None:
    from study.engines import llamacpp
    from study.engines.config import LlamaCppEngineConfig

    person = participants("thoma2025riskychoice", 1)[0]
    request = score_request(person)
    full = next(gemma.score([request]))
    small = llamacpp.build(LlamaCppEngineConfig(n_threads=2, n_ctx=512), gemma.model)
    try:
        windowed = next(small.score([request]))
    finally:
        small.close()
    assert windowed.prompt_tokens == full.prompt_tokens > 512
    seen_all = [k for k, dropped in enumerate(windowed.dropped_tokens) if dropped == 0]
    assert seen_all and windowed.dropped_tokens[-1] > 0
    for k in seen_all:
        assert abs(windowed.nll[k] - full.nll[k]) <= 1e-6
    assert all(math.isfinite(x) and x >= 0 for x in windowed.nll)


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


def test_same_config_and_seed_give_identical_bytes(smollm, tmp_path, compose_config) -> None:
    from study.respond import respond

    people = [truncated(p, 3) for p in participants("thoma2025riskychoice", 2)]
    overrides = ["stage=respond", "personas=[own]", "runs=2", "sampling.max_tokens=4"]
    outcomes = [
        respond(compose_config(*overrides, f"out={tmp_path / name}"), people, engine=smollm)
        for name in ("a", "b")
    ]
    assert all(o.computed == 2 * (1 + 2) and o.reused == 0 for o in outcomes)
    for name in ("scores", "samples"):
        assert outcomes[0].paths[name].read_bytes() == outcomes[1].paths[name].read_bytes()
    scores = outcomes[0].scores
    assert set(scores["model_sha256"]) == {smollm.sha256}
    assert scores["nll"].is_finite().all() and (scores["nll"] > 0).all()
