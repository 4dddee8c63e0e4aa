"""C5's ground truth: synthetic persons with latent types, the simulated engine
rewarding the candidates that match them (engine.fit_gain), the whole fitted-personas
pipeline on top. The fitted persona beats its placebo exactly when the fit gain is
positive, and the interval covers the true benefit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from study.config import Config
from study.engines.simulated import SimulatedEngine
from study.engines.simulated_fit import expected_person_specific_benefit
from study.fitted.config import library
from study.synth import stage as synth_stage
from tests.pipeline.conftest import make_config

EXPERIMENT = "synth_probability_matching"
PERSONS, TRIALS = 40, 20
# Candidates differ by their fit alone: no generic persona quality that selection could
# pick up (see docs/sections/fitted.md on why that would bias the placebo contrast).
NO_PERSONA_EFFECTS = ["engine.sd_persona=0", "engine.sd_person_persona=0"]
# Long enough for the diagnostics to pass reliably (an estimate is checked here).
CHAINS = ["pipeline.draws=1000", "pipeline.tune=1000", "pipeline.chains=2"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synth_stage.run(
        make_config(
            [
                "stage=synth",
                "synth.persona_types=true",
                f"synth.participants={PERSONS}",
                f"synth.trials={TRIALS}",
                f"out={out}",
            ]
        )
    )
    return out


def _run(
    factory: pytest.TempPathFactory, synthetic: Path, engine: list[str]
) -> tuple[Config, Path]:
    from study.pipeline.stage import run

    out = factory.mktemp("fitted")
    cfg = make_config(
        [
            "experiment=fitted_personas",
            "engine=simulated",
            f"engine.fit_types={synthetic / 'truth.parquet'}",
            *NO_PERSONA_EFFECTS,
            *engine,
            f"data.path={synthetic / EXPERIMENT}",
            f"data.limit={PERSONS}",
            *CHAINS,
            f"out={out}",
        ]
    )
    run(cfg)
    return cfg, out


def _person_specific(out: Path) -> pd.Series:
    benefits = pd.read_csv(out / "tables" / "c5_benefits.csv")
    row = benefits[
        (benefits["contrast"] == "fitted_person_specific") & (benefits["experiment"] == EXPERIMENT)
    ]
    assert len(row) == 1 and bool(row["passed"].iloc[0]), "the fit passed its diagnostics"
    return row.iloc[0]


@pytest.fixture(scope="module")
def no_gain(tmp_path_factory: pytest.TempPathFactory, synthetic: Path) -> tuple[Config, Path]:
    # Per-choice fit noise only: selection on the first K is chance, held out it is noise.
    return _run(tmp_path_factory, synthetic, ["engine.fit_gain=0", "engine.fit_noise=0.5"])


@pytest.fixture(scope="module")
def gain(tmp_path_factory: pytest.TempPathFactory, synthetic: Path) -> tuple[Config, Path]:
    # No fit noise: each person's fitted candidate is their type, so the truth is exact.
    return _run(tmp_path_factory, synthetic, ["engine.fit_gain=1.0", "engine.fit_noise=0"])


def test_the_synthetic_persons_have_types_from_the_grid(synthetic: Path) -> None:
    truth = pd.read_parquet(synthetic / "truth.parquet")
    assert truth["persona_type"].nunique() > 6  # 12 types, 40 persons
    assert set(truth["persona_type"]) <= set(library(make_config([]).fitted))


def test_without_a_fit_gain_the_placebo_is_as_good(no_gain: tuple[Config, Path]) -> None:
    _, out = no_gain
    row = _person_specific(out)
    assert row["lower"] < 0.0 < row["upper"], "the truth, 0, is inside the interval"
    candidates = pd.read_csv(out / "tables" / "c5_candidates.csv")
    # The noise makes the selection spread over the library (a placebo can be formed).
    assert candidates[candidates["selected"]]["candidate"].nunique() > 3


def test_with_a_fit_gain_the_fitted_persona_beats_its_placebo(
    gain: tuple[Config, Path], synthetic: Path
) -> None:
    cfg, out = gain
    row = _person_specific(out)
    assert row["lower"] > 0.0, "fitted_own beats fitted_other"
    # Each person's fitted candidate is their latent type.
    candidates = pd.read_csv(out / "tables" / "c5_candidates.csv", dtype={"participant": str})
    truth = pd.read_parquet(synthetic / "truth.parquet")
    chosen = candidates[candidates["selected"]].set_index("participant")["candidate"]
    assert (
        chosen.sort_index() == truth.set_index("participant")["persona_type"].sort_index()
    ).all()
    # The interval covers the true benefit (held-out choices K+1..TRIALS, K = TRIALS/2).
    engine = SimulatedEngine(cfg.engine)
    items = [engine.effects(EXPERIMENT, "1", "none", k).item for k in range(TRIALS // 2, TRIALS)]
    dimensions = {d: list(levels) for d, levels in cfg.fitted.dimensions.items()}
    truth_benefit = expected_person_specific_benefit(
        1.0, cfg.engine.mu, cfg.engine.sd_person, items, dimensions
    )
    assert truth_benefit > 0.1
    assert row["lower"] <= truth_benefit <= row["upper"]
