"""Configuration of the data stage and the synthetic generator (Hydra structured configs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataConfig:
    # A Psych-201 experiment: a prompts.jsonl, a zip of it, or a folder of either.
    # Relative paths resolve against the directory the command was started from.
    path: str = "data/psych201"
    # Only the first N participants of each experiment (None: all).
    limit: int | None = None


@dataclass
class SynthConfig:
    task: str = "probability_matching"
    participants: int = 100
    # How strongly profile fields drive person parameters; 0 means the profile is noise.
    strength: float = 1.0
    seed: int = 0
