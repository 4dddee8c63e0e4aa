"""Helpers: compose the real Hydra config in-process, as the command line would."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from study.cli import CONF_DIR, to_typed
from study.config import Config

# A simulation small enough for the test budget, big enough to pass the diagnostics gate.
SMALL_SIMULATION = [
    "experiment=simulation",
    "synth.participants=24",
    "synth.trials=10",
    "runs=4",
    "pipeline.sample_personas=[none,own,other,archetype:cautious]",
    "pipeline.draws=1000",
    "pipeline.tune=1000",
]


def make_config(overrides: list[str]) -> Config:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return to_typed(compose(config_name="config", overrides=overrides))


# Posterior sizes for tests that check what a pipeline writes, not its estimates' precision.
SHORT_CHAINS = ["pipeline.draws=500", "pipeline.tune=500", "pipeline.chains=2"]


def pipeline_run(
    factory: pytest.TempPathFactory, name: str, overrides: list[str]
) -> tuple[Config, Path]:
    """Run the pipeline with ``overrides`` into a fresh folder named after ``name``."""
    from study.pipeline.stage import run

    out = factory.mktemp(name)
    cfg = make_config([*overrides, f"out={out}"])
    run(cfg)
    return cfg, out


@pytest.fixture(scope="module")
def simulation_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    """One small simulation experiment through the whole pipeline."""
    from study.pipeline.stage import run

    out = tmp_path_factory.mktemp("simulation")
    cfg = make_config([*SMALL_SIMULATION, f"out={out}"])
    run(cfg)
    return cfg, out
