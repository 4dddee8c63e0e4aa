"""Model configs by name (``conf/model/NAME.yaml``), for analyses that sweep models."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from study.engines.config import ModelConfig
from study.errors import ConfigError

MODEL_CONF = Path(__file__).resolve().parents[2] / "conf" / "model"


def load_model(name: str) -> ModelConfig:
    path = MODEL_CONF / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in MODEL_CONF.glob("*.yaml")))
        raise ConfigError(f"pipeline.models: no model {name!r} (conf/model/); known: {known}")
    raw = OmegaConf.load(path)
    if not isinstance(raw, DictConfig):
        raise ConfigError(f"{path}: a model config must be a mapping")
    if "defaults" in raw:
        del raw["defaults"]
    merged = OmegaConf.merge(OmegaConf.structured(ModelConfig), raw)
    model = OmegaConf.to_object(merged)
    assert isinstance(model, ModelConfig)
    return model
