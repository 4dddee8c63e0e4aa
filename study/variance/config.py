"""Configuration of the variance stage (Hydra structured configs)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VarianceConfig:
    input: str | None = None
    outcome: str = "y"
    family: str = "gaussian"
    factors: list[str] = field(default_factory=lambda: ["person", "persona"])
