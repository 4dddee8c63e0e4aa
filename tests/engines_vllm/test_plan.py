"""Token plans and option queries (study.engines.vllm_plan), with a toy tokenizer that
merges across markers the way real BPE tokenizers can: no model needed."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from study.engines.openai_compat import overlapping
from study.engines.vllm_plan import normalise, plan_options, plan_tokens, response_nll

BOS = 1


def toy_encode(text: str, first: bool, template: bool) -> list[int]:
    """Words and runs of punctuation as tokens (``<<R`` would be one if not cut)."""
    ids = [BOS] if first else []
    ids += [hash(piece) % 10_000 + 2 for piece in re.findall(r"\w+|[^\w\s]+|\s+", text)]
    return ids


def spans_of(prompt: str) -> tuple[tuple[int, int], ...]:
    return tuple((m.start(1), m.end(1)) for m in re.finditer(r"<<(.*?)>>", prompt))


@given(
    st.lists(
        st.tuples(st.text("ab ,.", max_size=8), st.text("xyz 12", min_size=1, max_size=5)),
        min_size=1,
        max_size=5,
    )
)
def test_each_response_gets_exactly_its_own_tokens(parts):
    prompt = "Go:" + "".join(f"{context} <<{response}>>" for context, response in parts)
    plan = plan_tokens(prompt, spans_of(prompt), 0, toy_encode)
    assert plan.ids[0] == BOS
    for (start, end), (_context, response) in zip(plan.responses, parts, strict=True):
        assert list(plan.ids[start:end]) == toy_encode(response, False, False)


def test_response_nll_sums_each_response_and_checks_lengths():
    prompt = "a <<b c>> d <<e>>"
    plan = plan_tokens(prompt, spans_of(prompt), 0, toy_encode)
    logprobs = [None] + [-0.1 * j for j in range(1, len(plan.ids))]
    nll, n_tokens = response_nll(plan, logprobs)
    assert n_tokens == (3, 1)  # "b", " ", "c" and "e"
    first = plan.responses[0]
    assert nll[0] == pytest.approx(sum(0.1 * j for j in range(*first)))
    with pytest.raises(ValueError, match="log-probabilities for"):
        response_nll(plan, logprobs[:-1])


def test_a_response_with_no_context_is_refused():
    # A span at offset 0 (no ``<<`` before it) and a model without BOS: nothing
    # precedes the response's first token, so nothing predicts it.
    with pytest.raises(ValueError, match="no context"):
        plan_tokens("a>>", ((0, 1),), 0, lambda text, first, template: [5])


def test_single_token_options_take_one_query_per_choice_point():
    prompt = "x <<L>> y <<R>>"
    plan = plan_tokens(prompt, spans_of(prompt), 0, toy_encode)
    options = plan_options(plan, [("L", "R"), ("L", "R")], toy_encode)
    assert len(options.queries) == 2
    for query, (start, _end) in zip(options.queries, plan.responses, strict=True):
        assert query.prompt == plan.ids[:start]
        assert len(query.targets) == 2


def test_multi_token_options_share_queries_by_prefix():
    prompt = "x <<go left>>"
    plan = plan_tokens(prompt, spans_of(prompt), 0, toy_encode)
    options = plan_options(plan, [("go left", "go right", "stay")], toy_encode)
    # (), ("go",), ("go", " "): three queries for three options of 3, 3 and 1 tokens.
    assert len(options.queries) == 3
    answers = [{t: math.log(0.5) for t in q.targets} for q in options.queries]
    probs = options.probabilities(answers)[0]
    # go left: .5 (go) * .5 (" ") * .5 (left); go right: the same; stay: .5.
    assert probs == pytest.approx({"go left": 1 / 6, "go right": 1 / 6, "stay": 2 / 3})


def test_normalise_is_stable_for_tiny_probabilities():
    probs = normalise(("a", "b"), [-2000.0, -2000.0 - math.log(3)])
    assert probs == pytest.approx({"a": 0.75, "b": 0.25})


def test_text_offsets_pick_tokens_overlapping_the_response():
    echoed = {
        "tokens": ["Go", " <<", "R", ">>", " <<L", ">>"],
        "text_offset": [0, 2, 5, 6, 8, 12],
        "token_logprobs": [None, -1.0, -2.0, -0.5, -3.0, -0.1],
    }
    assert overlapping(echoed, 5, 6) == [-2.0]
    # A token merged with its marker counts whole: the server's tokenisation decides.
    assert overlapping(echoed, 11, 12) == [-3.0]
