"""The simulated engine's C7 judging truth: the formula, its draws, its validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from study.engines.base import SampleRequest, ScoreRequest
from study.engines.simulated import SimulatedEngine
from study.errors import ConfigError
from tests.stakeholders.simulated_frames import (
    HUMAN,
    OPTIONS,
    engine,
    judge_request,
    judgements,
)

TRUTH = {
    "judge_mu": 0.2,
    "judge_documents_gain": 0.7,
    "judge_generic_gain": -0.4,
    "judge_round_shift": 0.25,
    "judge_debate_shrink": 0.5,
}


def _score(simulated: SimulatedEngine, item: str, source: str, persona: str, round_: int):
    return next(simulated.score([judge_request(item, source, persona, round_)]))


def test_engine_scores_judging_requests_by_the_formula():
    simulated = engine(**TRUTH)
    item = "e1/3/0/2"
    for source, persona, round_ in [
        ("documents", "documents:D0", 0),
        ("documents", "documents:D0", 2),
        ("generic", "generic:G1", 1),
        ("none", "none", 0),
    ]:
        e = simulated.judge_effects(item, source, persona, round_)
        eta = (
            TRUTH["judge_mu"]
            + e.item
            + {"documents": 0.7, "generic": -0.4, "none": 0.0}[source]
            + e.persona
            + e.persona_item * 0.5**round_
            + 0.25 * round_
            + e.noise
        )
        assert e.logit == pytest.approx(eta, abs=1e-12)
        result = _score(simulated, item, source, persona, round_)
        p = 1.0 / (1.0 + math.exp(-eta))
        assert result.nll == pytest.approx((-math.log(p),), abs=1e-12)
        probs = result.option_probs[0]
        assert probs[HUMAN] == pytest.approx(p, abs=1e-12)
        for other in (o for o in OPTIONS if o != HUMAN):
            assert probs[other] == pytest.approx((1 - p) / (len(OPTIONS) - 1), abs=1e-12)


def test_effects_are_shared_where_the_formula_shares_them():
    simulated = engine(**TRUTH)
    a = simulated.judge_effects("e1/1/0/0", "documents", "documents:D0", 0)
    b = simulated.judge_effects("e1/1/0/0", "generic", "generic:G0", 0)
    c = simulated.judge_effects("e1/2/0/0", "documents", "documents:D0", 1)
    d = simulated.judge_effects("e1/1/0/0", "documents", "documents:D0", 1)
    assert a.item == b.item != c.item  # per item
    assert a.persona == c.persona != b.persona  # per persona
    assert a.persona_item == d.persona_item != c.persona_item  # per (persona, item)...
    assert d.debate == 0.5 and a.debate == 1.0  # ... shrunk by the debate round
    assert a.noise != d.noise  # per (persona, item, round)
    # Deterministic, and keyed by the engine's seed.
    assert engine(**TRUTH).judge_effects("e1/1/0/0", "documents", "documents:D0", 0) == a
    other_seed = engine(**TRUTH, seed=1).judge_effects("e1/1/0/0", "documents", "documents:D0", 0)
    assert other_seed.item != a.item


def test_drawn_effects_have_the_configured_spread():
    simulated = engine(judge_sd_item=0.8, judge_sd_persona_item=0.5, judge_sd_noise=0.3)
    items = [simulated.judge_effects(f"e/{i}/0/0", "none", "none", 0) for i in range(2000)]
    assert np.std([e.item for e in items]) == pytest.approx(0.8, rel=0.08)
    assert np.std([e.persona_item for e in items]) == pytest.approx(0.5, rel=0.08)
    assert np.std([e.noise for e in items]) == pytest.approx(0.3, rel=0.08)


def test_the_bulk_frame_equals_the_engine_path():
    simulated = engine(**TRUTH)
    frame = judgements(simulated, persons=2, choices=2, rounds=2)
    for row in frame.sample(8, seed=3).iter_rows(named=True):
        result = _score(simulated, row["item"], row["source"], row["persona"], row["round"])
        assert result.option_probs[0][HUMAN] == pytest.approx(row["p_human"], abs=1e-12)
        assert -result.nll[0] == pytest.approx(row["logp"], abs=1e-12)


def _as_sample(request: ScoreRequest, seed: int) -> SampleRequest:
    return SampleRequest(
        request.prompt, request.spans, seed=seed, options=request.options, tags=request.tags
    )


def test_sampling_a_judging_request_follows_the_same_truth():
    simulated = engine(judge_mu=8.0)  # P(human) ~ 0.9997: nearly every sample matches
    request = judge_request("e1/1/0/0", "none", "none", 0)
    samples = [
        next(simulated.sample([_as_sample(request, seed)])).responses[0] for seed in range(50)
    ]
    assert samples.count(HUMAN) >= 48


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("judge_sd_item", -0.1),
        ("judge_sd_persona", -1.0),
        ("judge_sd_persona_item", -0.5),
        ("judge_sd_noise", -0.2),
        ("judge_debate_shrink", 1.5),
        ("judge_debate_shrink", -0.1),
    ],
)
def test_build_rejects_impossible_truth(field, value):
    with pytest.raises(ConfigError, match=field):
        engine(**{field: value})


def test_judging_requests_need_their_tags_and_one_span():
    simulated = engine()
    request = judge_request("e1/1/0/0", "none", "none", 0)
    without_round = request.tags[:-1]
    with pytest.raises(ValueError, match="round"):
        next(simulated.score([ScoreRequest(request.prompt, request.spans, tags=without_round)]))
    with pytest.raises(ValueError, match="source"):
        simulated.judge_effects("e1/1/0/0", "experts", "x", 0)
