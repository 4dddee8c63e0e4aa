"""The simulated engine: its outputs follow the configured truth, and runs repeat exactly."""

from __future__ import annotations

import math

from study.engines.base import SampleRequest
from study.engines.config import SimulatedEngineConfig
from study.engines.seeds import run_seed
from study.engines.simulated import SimulatedEngine
from study.respond import respond
from tests.engines.conftest import participants, score_request


def tagged(request, person, persona: str):
    tags = (
        ("experiment", person.experiment),
        ("participant", person.participant),
        ("persona", persona),
    )
    return type(request)(**{**{n: getattr(request, n) for n in request.__slots__}, "tags": tags})


def test_scores_are_the_true_log_odds() -> None:
    engine = SimulatedEngine(SimulatedEngineConfig(seed=5))
    person = participants("thoma2025riskychoice", 1)[0]
    result = next(engine.score([tagged(score_request(person, options=True), person, "own")]))
    for k, (nll, probs) in enumerate(zip(result.nll, result.option_probs, strict=True)):
        logit = engine.effects(person.experiment, person.participant, "own", k).logit
        assert math.isclose(nll, math.log1p(math.exp(-logit)), rel_tol=1e-12)
        assert math.isclose(probs[person.choices[k].response], math.exp(-nll), rel_tol=1e-12)
        assert math.isclose(sum(probs.values()), 1.0, rel_tol=1e-12)


def test_match_rates_over_runs_recover_the_truth() -> None:
    engine = SimulatedEngine(SimulatedEngineConfig(seed=1))
    person = participants("thoma2025riskychoice", 1)[0]
    base = score_request(person, options=True)
    runs = 600
    requests = [
        tagged(
            SampleRequest(
                base.prompt,
                base.spans,
                seed=run_seed("m", "e", "p", "none", r, config_seed=0),
                options=base.options,
            ),
            person,
            "none",
        )
        for r in range(runs)
    ]
    results = list(engine.sample(requests))
    for k, choice in enumerate(person.choices):
        p = 1 / (
            1 + math.exp(-engine.effects(person.experiment, person.participant, "none", k).logit)
        )
        rate = sum(r.responses[k] == choice.response for r in results) / runs
        assert abs(rate - p) < 4 * math.sqrt(p * (1 - p) / runs), (k, rate, p)
    assert all(all(s in base.options[0] for s in r.responses) for r in results), (
        "misses are drawn from the option set"
    )


def test_same_config_and_seed_give_identical_bytes(tmp_path, compose_config) -> None:
    overrides = [
        "stage=respond",
        "data.path=data/psych201/busch2024_stroop",
        "data.limit=6",
        "personas=[none,own,other,archetype:cautious]",
        "runs=2",
    ]
    first = respond(compose_config(*overrides, f"out={tmp_path / 'a'}"), progress=False)
    second = respond(compose_config(*overrides, f"out={tmp_path / 'b'}"), progress=False)
    for name in ("scores", "samples"):
        assert first.paths[name].read_bytes() == second.paths[name].read_bytes()
    reseeded = respond(
        compose_config(*overrides, "engine.seed=1", f"out={tmp_path / 'c'}"), progress=False
    )
    assert reseeded.scores["nll"].to_list() != first.scores["nll"].to_list()
    choices = sum(len(p.choices) for p in participants("busch2024_stroop", 6))
    assert first.scores.height == 4 * choices
    assert first.samples.height == 2 * 4 * choices


def test_dry_run_shows_prompts_and_cache_and_writes_nothing(tmp_path, compose_config, capsys):
    out = tmp_path / "out"
    overrides = [
        "stage=respond",
        "data.path=data/psych201/thoma2025riskychoice",
        "data.limit=3",
        "personas=[none,own]",
        f"out={out}",
    ]
    respond(compose_config(*overrides, "dry_run=true"), progress=False)
    shown = capsys.readouterr().out
    assert not out.exists()
    assert "Interviewer: What is your age?" in shown  # the `own` prompt, rendered
    assert "requests: 6 score (0 cached), 6 sample (0 cached)" in shown
    respond(compose_config(*overrides), progress=False)
    respond(compose_config(*overrides, "dry_run=true", "runs=2"), progress=False)
    assert "requests: 6 score (6 cached), 12 sample (6 cached)" in capsys.readouterr().out
