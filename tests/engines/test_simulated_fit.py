"""The simulated engine's C5 truth: a library candidate's log-odds gain by how much of
the person's latent type it matches; everything else is untouched."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from study.engines.config import ModelConfig, SimulatedEngineConfig
from study.engines.simulated import SimulatedEngine, build
from study.engines.simulated_fit import donor_match_shares, expected_person_specific_benefit
from study.errors import ConfigError, StudyInputError

TYPE = "risk=averse,pace=slow"


def _types(tmp_path: Path, rows: list[tuple[str, str, str]], name: str = "types.csv") -> Path:
    path = tmp_path / name
    frame = pl.DataFrame(rows, schema=["experiment", "participant", "persona_type"], orient="row")
    frame.write_csv(path) if path.suffix == ".csv" else frame.write_parquet(path)
    return path


def _engine(tmp_path: Path, **truth: object) -> SimulatedEngine:
    path = _types(tmp_path, [("e", "1", TYPE)])
    return SimulatedEngine(SimulatedEngineConfig(fit_types=str(path), **truth))  # type: ignore[arg-type]


def test_the_gain_scales_with_the_share_of_the_type_matched(tmp_path: Path) -> None:
    engine = _engine(tmp_path, fit_gain=1.2)
    fit = {
        persona: engine.effects("e", "1", persona, 3).fit
        for persona in (
            "archetype:risk=averse,pace=slow",
            "archetype:risk=averse,pace=fast",
            "archetype:risk=seeking,pace=fast",
            "own",
            "archetype:a free text",
        )
    }
    assert fit == {
        "archetype:risk=averse,pace=slow": pytest.approx(1.2),
        "archetype:risk=averse,pace=fast": pytest.approx(0.6),
        "archetype:risk=seeking,pace=fast": 0.0,
        "own": 0.0,
        "archetype:a free text": 0.0,
    }
    # The other effects are those of an engine without the fit truth.
    plain = SimulatedEngine(SimulatedEngineConfig())
    with_fit = engine.effects("e", "1", "archetype:risk=averse,pace=slow", 3)
    without = plain.effects("e", "1", "archetype:risk=averse,pace=slow", 3)
    assert with_fit.logit == pytest.approx(without.logit + 1.2)


def test_fit_noise_varies_by_choice_and_candidate_and_is_reproducible(tmp_path: Path) -> None:
    engine = _engine(tmp_path, fit_noise=0.5)
    draws = [engine.effects("e", "1", "archetype:risk=averse,pace=slow", k).fit for k in range(200)]
    assert np.std(draws) == pytest.approx(0.5, rel=0.15)
    assert draws == [
        engine.effects("e", "1", "archetype:risk=averse,pace=slow", k).fit for k in range(200)
    ]
    other = engine.effects("e", "1", "archetype:risk=averse,pace=fast", 0).fit
    assert other != draws[0]
    assert engine.effects("e", "1", "none", 0).fit == 0.0


def test_score_nll_carries_the_fit(tmp_path: Path) -> None:
    from study.engines.base import ScoreRequest

    engine = _engine(tmp_path, fit_gain=2.0)
    prompt = "pick <<A>>"

    def nll(persona: str) -> float:
        tags = (("experiment", "e"), ("participant", "1"), ("persona", persona))
        return next(engine.score([ScoreRequest(prompt, ((6, 7),), tags=tags)])).nll[0]

    logit = engine.effects("e", "1", "archetype:" + TYPE, 0).logit
    assert nll("archetype:" + TYPE) == pytest.approx(-math.log(1 / (1 + math.exp(-logit))))
    assert nll("archetype:" + TYPE) < nll("archetype:risk=seeking,pace=fast")


def test_types_are_read_by_content(tmp_path: Path) -> None:
    first = _types(tmp_path, [("e", "1", TYPE)], "a.parquet")
    moved = _types(tmp_path, [("e", "1", TYPE)], "b.parquet")
    changed = _types(tmp_path, [("e", "1", "risk=seeking,pace=slow")], "c.parquet")

    def fingerprint(path: Path) -> dict:
        return dict(SimulatedEngine(SimulatedEngineConfig(fit_types=str(path))).fingerprint())

    assert fingerprint(first) == fingerprint(moved)
    assert fingerprint(first) != fingerprint(changed)


def test_bad_types_are_refused_with_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"engine\.fit_gain needs engine\.fit_types"):
        build(SimulatedEngineConfig(fit_gain=1.0), ModelConfig())
    with pytest.raises(ConfigError, match="no such file"):
        SimulatedEngine(SimulatedEngineConfig(fit_types=str(tmp_path / "missing.csv")))
    bad = _types(tmp_path, [("e", "1", TYPE), ("e", "2", "just words")])
    with pytest.raises(
        StudyInputError, match=r"types\.csv:3: participant 'e/2', field 'persona_type'"
    ):
        SimulatedEngine(SimulatedEngineConfig(fit_types=str(bad)))
    engine = _engine(tmp_path, fit_gain=1.0)
    with pytest.raises(StudyInputError, match=r"participant 'e/9'.*no latent type"):
        engine.effects("e", "9", "archetype:" + TYPE, 0)


def test_donor_shares_and_the_exact_benefit() -> None:
    grid = {"risk": ["a", "b", "c"], "exploration": ["lo", "hi"], "consistency": ["h", "v"]}
    shares = donor_match_shares(grid)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares == pytest.approx({1.0: 1 / 12, 2 / 3: 4 / 12, 1 / 3: 5 / 12, 0.0: 2 / 12})
    assert expected_person_specific_benefit(0.0, 0.5, 1.0, [0.1, -0.2], grid) == 0.0
    # Monte Carlo over persons and donors agrees with the quadrature.
    rng = np.random.default_rng(0)
    items = np.array([0.3, -0.4, 0.0])
    x = 0.5 + rng.standard_normal(200_000)[:, None] + items[None, :]
    share = rng.choice(list(shares), p=list(shares.values()), size=(200_000, 1))
    simulated = np.mean(np.logaddexp(0, -(x + 1.5 * share)) - np.logaddexp(0, -(x + 1.5)))
    exact = expected_person_specific_benefit(1.5, 0.5, 1.0, list(items), grid)
    assert exact == pytest.approx(simulated, abs=0.003)
