"""The shipped persona library: the grid of conf/fitted/default.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from study.errors import ConfigError
from study.fitted.config import FittedConfig, library

SHIPPED = Path(__file__).resolve().parents[2] / "conf" / "fitted" / "default.yaml"


def shipped() -> FittedConfig:
    merged = OmegaConf.merge(OmegaConf.structured(FittedConfig), OmegaConf.load(SHIPPED))
    typed = OmegaConf.to_object(merged)
    assert isinstance(typed, FittedConfig)
    return typed


def test_the_shipped_grid_has_every_combination_of_its_levels() -> None:
    cfg = shipped()
    candidates = library(cfg)
    levels = [len(v) for v in cfg.dimensions.values()]
    assert len(candidates) == levels[0] * levels[1] * levels[2] >= 12
    assert len(set(candidates.values())) == len(candidates)  # no two texts alike
    for name, text in candidates.items():
        for part in name.split(","):
            dimension, level = part.split("=")
            assert cfg.dimensions[dimension][level] in text
        assert text.endswith("\n\n")  # the transcript follows after a blank line


def test_a_grid_without_levels_or_placeholder_is_refused() -> None:
    with pytest.raises(ConfigError, match="dimensions"):
        library(FittedConfig(dimensions={"risk": {}}))
    with pytest.raises(ConfigError, match="sentences"):
        library(FittedConfig(template="no slot", dimensions={"risk": {"a": "A."}}))
