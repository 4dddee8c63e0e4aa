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
    # Zip-bomb guards: the largest inflated/compressed ratio of a member (Psych-201
    # transcripts compress about 60:1) and the largest inflated size of one archive.
    max_zip_ratio: float = 200.0
    max_unzipped_gb: float = 256.0
    # The longest jsonl line accepted (Psych-201's longest transcripts are ~0.1 MB).
    max_line_mb: float = 64.0
    # Also write the data cards of what was loaded (DIR/data_cards/).
    cards: bool = True


@dataclass
class SynthConfig:
    # probability_matching (shaped like thoma2025riskychoice) or two_armed_bandit
    # (shaped like dezfouli2019); see study.synth.tasks.
    task: str = "probability_matching"
    participants: int = 100
    # How strongly profile fields drive person parameters; 0 means the profile is noise.
    strength: float = 1.0
    seed: int = 0
    # Choices per participant (None: the task's default, 10 or 1200).
    trials: int | None = None
    # Experiment name, i.e. the folder under out= (None: synth_<task>).
    name: str | None = None
    # C5 ground truth: give each person a latent type, one candidate of the persona grid
    # (fitted.dimensions, one level per dimension, uniformly), written to truth.parquet
    # as persona_type for the simulated engine's fit truth (engine.fit_types).
    persona_types: bool = False
