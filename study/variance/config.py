"""Configuration of the variance stage (Hydra structured configs).

``python -m study stage=variance variance.input=FILE variance.outcome=COL
variance.family=FAMILY variance.factors=[person,persona,person:persona,item] out=DIR``;
``variance.formula`` may replace outcome and factors. See docs/sections/variance.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VarianceConfig:
    # The data: a CSV or parquet file, one row per observation (run).
    input: str | None = None
    outcome: str = "y"
    # gaussian, bernoulli, binomial (needs trials) or ordered.
    family: str = "gaussian"
    # Grouping columns: "a", "a:b" (interaction), "a/b" (b nested in a).
    factors: list[str] = field(default_factory=lambda: ["person", "persona"])
    # lme4-style alternative to outcome + factors: "y ~ (1|person) + (1|persona)".
    formula: str | None = None
    # Binomial trials column.
    trials: str | None = None
    # Ordered family: the categories from lowest to highest (null: sorted numbers).
    categories: list[str] | None = None
    # Name of the residual component (the replicate rows of a cell).
    residual: str = "run"
    # The factor whose share C1 compares with the residual's, and the D-study target.
    persona: str = "persona"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    # Chains run at once; null: as many as this process may use CPUs.
    cores: int | None = None
    # auto (nutpie, PyMC's NUTS if nutpie fails), nutpie or pymc.
    sampler: str = "auto"
    target_accept: float = 0.8
    # Resample a fit that fails its diagnostics this many times (study.variance.attempts).
    # Only the last attempt is reported.
    retries: int = 1
    prob: float = 0.94
    # eti (equal-tailed) or hdi (highest density) intervals.
    interval: str = "eti"
    # D-study: runs per cell to tabulate (other sizes: the observed level counts).
    d_study_runs: list[int] = field(default_factory=lambda: [1, 2, 5, 10, 20, 50])
    progress: bool = True
