"""Configuration of engines and models (Hydra structured configs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EngineConfig:
    name: str = "simulated"


@dataclass
class ModelConfig:
    name: str = "simulated"
