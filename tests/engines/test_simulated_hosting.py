"""The simulated engine's C4 truth: co-hosted log-odds mix the target's and partners'
profile effects by the leakage, probes move option log-odds by cross-talk relative to
persistence, and requests without a `design` tag are answered as before."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from study.data.options import options_for
from study.engines.base import SampleRequest, ScoreRequest
from study.engines.config import SimulatedEngineConfig
from study.engines.simulated import SimulatedEngine, build
from study.engines.simulated_hosting import Hosted
from study.errors import ConfigError
from study.hosting.records import ALONE, COHOSTED, CROSS, INTERLEAVED, PROBE, SELF, HostedPrompt
from tests.engines.conftest import participants, score_request
from tests.hosting.helpers import by_id, slice_people, slice_prompts

PEOPLE = by_id(slice_people())


def request(prompt: HostedPrompt, options: bool) -> ScoreRequest:
    option_sets = None
    if options:
        option_sets = tuple(
            options_for(PEOPLE[(prompt.experiment, owner)]) or () for owner in prompt.owners
        )
    return ScoreRequest(prompt.prompt, prompt.spans, options=option_sets, tags=prompt.tags())


def log_odds(nll: float) -> float:
    p = math.exp(-nll)
    return math.log(p / (1 - p))


def centred(probs, options) -> np.ndarray:
    logs = np.log([probs[o] for o in options])
    return logs - logs.mean()


def prompts_of(experiment: str, design: str) -> list[HostedPrompt]:
    return [p for p in slice_prompts() if p.experiment == experiment and p.design == design]


def cohosted_triples(experiment: str):
    """(K=2 co-hosted `own`, the target alone, the partner alone) prompts."""
    alone = {(p.target, p.slots[0]): p for p in prompts_of(experiment, ALONE)}
    for prompt in prompts_of(experiment, COHOSTED):
        if prompt.k == 2 and prompt.slot == "own":
            partner = prompt.slots[1 - prompt.target_slot]
            yield prompt, alone[(prompt.target, prompt.target)], alone[(prompt.target, partner)]


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0])
def test_cohosted_log_odds_mix_the_alone_ones_by_the_leakage(lam) -> None:
    engine = SimulatedEngine(
        SimulatedEngineConfig(seed=4, hosting_leakage=lam, hosting_noise=0.0, sd_persona=0.8)
    )
    checked = 0
    for cohosted, own, partner in cohosted_triples("thoma2025riskychoice"):
        results = list(engine.score([request(p, options=False) for p in (cohosted, own, partner)]))
        for lc, lt, lp in zip(*(map(log_odds, r.nll) for r in results), strict=True):
            assert math.isclose(lc, (1 - lam) * lt + lam * lp, abs_tol=1e-9)
        checked += 1
    assert checked >= 8


def test_leakage_holds_for_centred_option_log_probs_and_noise_breaks_it() -> None:
    lam = 0.4
    config = SimulatedEngineConfig(seed=2, hosting_leakage=lam, hosting_noise=0.0)
    noisy = SimulatedEngine(SimulatedEngineConfig(seed=2, hosting_leakage=lam, hosting_noise=0.5))
    engine = SimulatedEngine(config)
    cohosted, own, partner = next(cohosted_triples("busch2024_stroop"))
    requests = [request(p, options=True) for p in (cohosted, own, partner)]
    lc, lt, lp = (r.option_probs for r in engine.score(requests))
    options = requests[0].options[0]
    for c, t, p in zip(lc, lt, lp, strict=True):
        y = centred(c, options) - centred(t, options)
        x = centred(p, options) - centred(t, options)
        assert np.allclose(y, lam * x, atol=1e-9)
    noisy_c = next(noisy.score(requests[:1])).option_probs
    assert not np.allclose(centred(noisy_c[0], options), centred(lc[0], options))


def test_crosstalk_over_self_swap_is_the_pairs_crosstalk() -> None:
    engine = SimulatedEngine(
        SimulatedEngineConfig(seed=3, hosting_crosstalk=0.2, hosting_persistence=1.5)
    )
    ratios = {}
    for experiment in ("busch2024_stroop", "dezfouli2019"):
        for base in prompts_of(experiment, INTERLEAVED)[:4]:
            options = options_for(PEOPLE[(experiment, base.target)])
            before = next(engine.score([request(base, options=True)])).option_probs
            for probe in prompts_of(experiment, PROBE):
                if probe.target != base.target:
                    continue
                after = next(engine.score([request(probe, options=True)])).option_probs
                change = centred(after[probe.probed], options) - centred(
                    before[probe.probed], options
                )
                key = (experiment, base.target, base.owners[1], probe.probed)
                ratios.setdefault(key, {})[probe.swap] = np.linalg.norm(change)
    assert len(ratios) >= 20 and all(len(pair) == 2 for pair in ratios.values())
    truths = set()
    for (experiment, target, partner, _), change in ratios.items():
        truth = engine.crosstalk(experiment, target, partner)
        truths.add(round(truth, 12))
        assert math.isclose(change[SELF], math.sqrt(2) * 1.5, rel_tol=1e-9)
        assert math.isclose(change[CROSS] / change[SELF], truth, rel_tol=1e-9)
    assert len(truths) == 8, "ct varies by pair"


def test_crosstalk_draws_average_the_configured_value() -> None:
    engine = SimulatedEngine(SimulatedEngineConfig(hosting_crosstalk=0.2, hosting_crosstalk_sd=0))
    assert engine.crosstalk("e", "1", "2") == engine.crosstalk("e", "3", "4") == 0.2
    assert SimulatedEngine(SimulatedEngineConfig()).crosstalk("e", "1", "2") == 0.0
    spread = SimulatedEngine(SimulatedEngineConfig(hosting_crosstalk=0.2, hosting_crosstalk_sd=0.5))
    draws = np.array([spread.crosstalk("e", str(i), str(i + 1)) for i in range(2000)])
    assert abs(draws.mean() - 0.2) < 4 * draws.std() / math.sqrt(len(draws))
    assert math.isclose(np.log(draws).std(), 0.5, rel_tol=0.1)


def test_requests_without_a_design_tag_follow_the_v1_truth_whatever_the_hosting() -> None:
    person = participants("thoma2025riskychoice", 1)[0]
    hosting = {
        "hosting_leakage": 0.7,
        "hosting_crosstalk": 0.5,
        "hosting_persistence": 3.0,
        "hosting_noise": 1.0,
    }
    plain = score_request(person, options=True)
    tags = (("experiment", person.experiment), ("participant", person.participant))
    for persona in ("none", "own"):
        req = ScoreRequest(
            plain.prompt, plain.spans, options=plain.options, tags=(*tags, ("persona", persona))
        )
        engine = SimulatedEngine(SimulatedEngineConfig(seed=5, **hosting))
        result = next(engine.score([req]))
        for k, (nll, probs) in enumerate(zip(result.nll, result.option_probs, strict=True)):
            logit = engine.effects(person.experiment, person.participant, persona, k).logit
            assert math.isclose(nll, math.log1p(math.exp(-logit)), rel_tol=1e-12)
            assert math.isclose(probs[person.choices[k].response], math.exp(-nll), rel_tol=1e-12)
        default = SimulatedEngine(SimulatedEngineConfig(seed=5))
        assert next(default.score([req])) == result
        sample = SampleRequest(req.prompt, req.spans, seed=9, options=req.options, tags=req.tags)
        assert next(engine.sample([sample])) == next(default.sample([sample]))


def test_hosted_designs_without_profiles_use_the_none_persona() -> None:
    engine = SimulatedEngine(SimulatedEngineConfig(seed=6))
    solo = prompts_of("thoma2025riskychoice", "solo")[0]
    result = next(engine.score([request(solo, options=False)]))
    for nll, owner, k in zip(result.nll, solo.owners, solo.choices, strict=True):
        logit = engine.effects(solo.experiment, owner, "none", k).logit
        assert math.isclose(log_odds(nll), logit, abs_tol=1e-9)


def test_hosted_samples_follow_the_option_distribution() -> None:
    engine = SimulatedEngine(SimulatedEngineConfig(seed=1, hosting_persistence=0.5))
    prompt = prompts_of("busch2024_stroop", PROBE)[0]
    scored = request(prompt, options=True)
    probs = next(engine.score([scored])).option_probs[prompt.probed]
    runs = 800
    draws = Counter(
        next(
            engine.sample(
                [
                    SampleRequest(
                        scored.prompt,
                        scored.spans,
                        seed=r,
                        options=scored.options,
                        tags=scored.tags,
                    )
                ]
            )
        ).responses[prompt.probed]
        for r in range(runs)
    )
    for option, p in probs.items():
        assert abs(draws[option] / runs - p) < 4 * math.sqrt(p * (1 - p) / runs), option


def test_bad_hosting_truth_and_tags_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"engine\.hosting_leakage"):
        build(SimulatedEngineConfig(hosting_leakage=1.5), None)
    with pytest.raises(ConfigError, match=r"engine\.hosting_noise"):
        build(SimulatedEngineConfig(hosting_noise=-0.1), None)
    prompt = prompts_of("busch2024_stroop", COHOSTED)[0]
    with pytest.raises(ValueError, match="spans but"):
        Hosted.of(prompt.tags(), len(prompt.spans) + 1)
