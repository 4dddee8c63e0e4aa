"""Simulate data with known variance components (tests, coverage, benchmarks, pipeline).

A fully crossed design: every combination of the factor columns' levels, ``runs``
replicate rows each. Each component (a column or an interaction ``a:b``) draws iid
``N(0, sd**2)`` effects per level; ``eta = intercept + sum of effects``; the outcome is
``eta + N(0, residual_sd**2)`` (gaussian), Bernoulli(logistic(eta)), or an ordered
category from the cumulative logit with ``cutpoints``.

The truth comes back beside the data: the population variances and their latent- and
data-scale shares, computed exactly as a fit computes them from its posterior, so a
fit's intervals can be checked against it.

>>> sim = simulate({"person": 4, "persona": 3}, {"person": 1.0, "persona": 0.5},
...                family="bernoulli", runs=2, seed=1)
>>> sim.data.shape, list(sim.data.columns)
((24, 4), ['person', 'persona', 'run', 'y'])
>>> sim.truth.set_index("component").loc["persona", "variance"]
np.float64(0.25)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from study.errors import ConfigError
from study.variance.families import GAUSSIAN, Family, get_family
from study.variance.posterior import NONADDITIVE
from study.variance.shares import data_scale_shares, data_scale_variances, latent_shares


@dataclass
class Simulation:
    """Simulated long-format data and the true components (``component``, ``variance``,
    ``latent_share``, ``data_share``), the residual row named ``residual``."""

    data: pd.DataFrame
    truth: pd.DataFrame


def simulate(
    levels: Mapping[str, int],
    sds: Mapping[str, float],
    *,
    family: str = "bernoulli",
    runs: int = 1,
    intercept: float = 0.0,
    residual_sd: float = 1.0,
    cutpoints: Sequence[float] = (-1.0, 0.0, 1.0),
    outcome: str = "y",
    residual: str = "residual",
    seed: int = 0,
) -> Simulation:
    """Simulate ``runs`` rows per cell of the crossed design ``levels`` (column -> count)
    with component SDs ``sds`` (``"person"``, ``"person:persona"``, ...)."""
    if family not in {"gaussian", "bernoulli", "ordered"}:
        raise ConfigError(f"simulate supports gaussian, bernoulli and ordered, not {family!r}")
    if runs < 1 or any(n < 2 for n in levels.values()):
        raise ConfigError("simulate needs runs >= 1 and at least 2 levels per column")
    columns = list(levels)
    for name in sds:
        if any(c not in levels for c in name.split(":")):
            raise ConfigError(f"component {name!r} uses a column not in levels {columns}")
    rng = np.random.default_rng(seed)
    grid = np.array(list(itertools.product(*(range(levels[c]) for c in columns))), dtype=int)
    rows = np.repeat(grid, runs, axis=0)
    eta = np.full(rows.shape[0], float(intercept))
    for name, sd in sds.items():
        parts = name.split(":")
        shape = tuple(levels[c] for c in parts)
        effects = rng.normal(0.0, sd, size=shape)
        eta += effects[tuple(rows[:, columns.index(c)] for c in parts)]
    data = pd.DataFrame({c: [f"{c}{i}" for i in rows[:, k]] for k, c in enumerate(columns)})
    data["run"] = np.tile(np.arange(runs), grid.shape[0])
    if family == "gaussian":
        data[outcome] = eta + rng.normal(0.0, residual_sd, size=eta.size)
    elif family == "bernoulli":
        data[outcome] = (rng.random(eta.size) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    else:
        cdf = 1.0 / (1.0 + np.exp(-(np.asarray(cutpoints)[None, :] - eta[:, None])))
        data[outcome] = 1 + (rng.random(eta.size)[:, None] > cdf).sum(axis=1)
    truth = true_components(sds, get_family(family), intercept, residual_sd, cutpoints, residual)
    return Simulation(data=data, truth=truth)


def true_components(
    sds: Mapping[str, float],
    family: Family,
    intercept: float,
    residual_sd: float,
    cutpoints: Sequence[float],
    residual: str = "residual",
) -> pd.DataFrame:
    """Population variances and shares for known parameters (one draw of the formulas)."""
    names = list(sds)
    sd = np.array([[sds[n] for n in names]], dtype=np.float64)
    draws: dict[str, np.ndarray] = {}
    if family is GAUSSIAN:
        draws["sigma_residual"] = np.array([residual_sd])
    if family.name == "ordered":
        draws["scores"] = np.arange(1.0, len(cutpoints) + 2.0)
        draws["cutpoints"] = np.asarray(cutpoints, dtype=np.float64)[None, :]
        location = np.zeros(1)
    else:
        location = np.array([float(intercept)])
    residual_var = family.latent_residual_variance(draws, 1)
    latent = latent_shares(sd**2, residual_var)[0]
    data = data_scale_shares(data_scale_variances(location, sd, family, draws))[0]
    rows = [(n, sds[n] ** 2, latent[i], data[i]) for i, n in enumerate(names)]
    rows.append((residual, float(residual_var[0]), latent[-1], data[len(names)]))
    if family is not GAUSSIAN:
        rows.append((NONADDITIVE, np.nan, np.nan, data[-1]))
    return pd.DataFrame(rows, columns=["component", "variance", "latent_share", "data_share"])


def simulate_individuation(
    benefits: Mapping[str, float],
    *,
    participants: int = 30,
    choices: int = 20,
    base_nll: float = 1.0,
    sd_between: float = 0.1,
    sd_within: float = 0.3,
    placebo: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Long-format NLLs for V2: per experiment (name -> true profile benefit), each
    participant's choices under personas none, own and other.

    NLL(none) - NLL(own) has mean ``benefits[experiment]`` (plus a participant effect of
    SD ``sd_between`` and choice noise of SD ``sd_within``); NLL(other) - NLL(none) has
    mean ``-placebo``, so the person-specific benefit is ``benefit - placebo``.

    >>> frame = simulate_individuation({"e1": 0.2}, participants=2, choices=3)
    >>> frame.shape, sorted(frame["persona"].unique())
    ((18, 5), ['none', 'other', 'own'])
    """
    rng = np.random.default_rng(seed)
    rows = []
    for experiment, benefit in benefits.items():
        for participant in range(participants):
            person_benefit = benefit + rng.normal(0.0, sd_between)
            for index in range(choices):
                none = base_nll + rng.exponential(0.5)
                own = none - person_benefit + rng.normal(0.0, sd_within)
                other = none - placebo + rng.normal(0.0, sd_within)
                for persona, nll in (("none", none), ("own", own), ("other", other)):
                    rows.append((experiment, f"{experiment}-p{participant}", index, persona, nll))
    return pd.DataFrame(rows, columns=["experiment", "participant", "index", "persona", "nll"])
