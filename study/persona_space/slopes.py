"""A slope per condition with person, condition and person x condition random effects:
the model under both drift (projection on the axis against k) and washout
(|NLL_q - NLL_none| against log k).

Rows ``i`` with a person ``p``, a condition ``q``, a position ``x`` and a value ``y``::

    y_i    = a_q + u_p + v_pq + b_q x_i + eps_i,   eps_i ~ Normal(0, sigma_y**2)
    a_q    ~ Normal(alpha, sigma_condition**2)     (condition random effect)
    u_p    ~ Normal(0, sigma_person**2)            (person random effect)
    v_pq   ~ Normal(0, sigma_cell**2)              (this person under this condition)
    b_q    ~ Normal(0, 1)                          (the slope of condition q)
    alpha  ~ Normal(0, 1); the SDs ~ HalfNormal(1)

on the standardised scale (``x`` and ``y`` centred and divided by their SDs; the priors
are weak there); slopes are reported in the data's units, ``b_q sd(y) / sd(x)``.

The fit does not grow with the rows: a (person, condition) cell enters through ``n``,
``Sx``, ``Sy``, ``Sxx``, ``Sxy``, ``Syy``, and ``v_pq`` is integrated out exactly.
Given ``b_q``, the cell's residuals ``y - b_q x`` have a within-cell sum of squares
``W ~ sigma_y**2 chi2(n - 1)`` and a mean ``~ Normal(a_q + u_p, sigma_cell**2 +
sigma_y**2 / n)``, independent; their joint density is the rows' likelihood with
``v_pq`` integrated out.

Rows are independent given the effects: a transcript's successive choice points are
not (a state carries over), so the intervals are somewhat narrow when the residuals are
autocorrelated; the slopes themselves keep their meaning.

Gated (:mod:`study.variance.diagnostics`): the slopes and the four SDs; the effects and
``alpha`` are listed for information.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from study.variance.attempts import sample_until_passed, warn_if_failed
from study.variance.posterior import flat
from study.variance.sampling import Sampler, SamplerSettings
from study.variance.tables import interval

PERSON, CONDITION, X, Y = "person", "condition", "x", "y"
SDS = ["sigma_condition", "sigma_person", "sigma_cell", "sigma_y"]
SAMPLED = ["alpha", "condition_effect", "person_effect", "standard_slope", *SDS]
GATED = ["slope", *SDS]
INFORMATIONAL = ["alpha", "condition_effect", "person_effect"]
SLOPE_COLUMNS = [
    "model",
    "condition",
    "slope",
    "lower",
    "upper",
    "diagnostics",
    "n_persons",
    "n_points",
    "interval",
]


@dataclass
class SlopeResult:
    """``table``: one row per condition (:data:`SLOPE_COLUMNS`; ``diagnostics`` is
    ``passed`` or ``failed``); ``draws``: condition -> the slope's posterior draws (data
    units); ``diagnostics``: the gate's table; ``tree``; ``notes``."""

    table: pd.DataFrame
    draws: dict[str, np.ndarray]
    diagnostics: pd.DataFrame
    passed: bool
    tree: xr.DataTree
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Standardised:
    """Per (person, condition) cell sufficient statistics of the standardised rows."""

    persons: list[str]
    conditions: list[str]
    person: np.ndarray
    condition: np.ndarray
    stats: dict[str, np.ndarray]
    x_sd: float
    y_sd: float


def cell_statistics(rows: pl.DataFrame) -> Standardised:
    """Standardise ``x`` and ``y`` (an SD of 0 counts as 1) and sum each cell."""
    x, y = rows[X].to_numpy().astype(np.float64), rows[Y].to_numpy().astype(np.float64)
    x_sd = float(x.std()) or 1.0
    y_sd = float(y.std()) or 1.0
    frame = rows.select(PERSON, CONDITION).with_columns(
        pl.Series(X, (x - x.mean()) / x_sd), pl.Series(Y, (y - y.mean()) / y_sd)
    )
    sums = (
        frame.group_by([PERSON, CONDITION])
        .agg(
            pl.len().alias("n"),
            pl.col(X).sum().alias("sx"),
            pl.col(Y).sum().alias("sy"),
            (pl.col(X) ** 2).sum().alias("sxx"),
            (pl.col(X) * pl.col(Y)).sum().alias("sxy"),
            (pl.col(Y) ** 2).sum().alias("syy"),
        )
        .sort([PERSON, CONDITION])
    )
    persons = sorted(set(sums[PERSON].to_list()))
    conditions = sorted(set(sums[CONDITION].to_list()))
    return Standardised(
        persons=persons,
        conditions=conditions,
        person=np.array([persons.index(p) for p in sums[PERSON].to_list()]),
        condition=np.array([conditions.index(c) for c in sums[CONDITION].to_list()]),
        stats={
            name: sums[name].to_numpy().astype(np.float64)
            for name in ("n", "sx", "sy", "sxx", "sxy", "syy")
        },
        x_sd=x_sd,
        y_sd=y_sd,
    )


def slope_model(data: Standardised) -> pm.Model:
    """The PyMC model of the module docstring on the cells' statistics."""
    s = data.stats
    coords = {"person": data.persons, "condition": data.conditions}
    with pm.Model(coords=coords) as model:
        values = {name: pm.Data(name, value) for name, value in s.items()}
        n, sx, sy = values["n"], values["sx"], values["sy"]
        sxx, sxy, syy = values["sxx"], values["sxy"], values["syy"]
        alpha = pm.Normal("alpha", 0.0, 1.0)
        sigma_condition = pm.HalfNormal("sigma_condition", 1.0)
        sigma_person = pm.HalfNormal("sigma_person", 1.0)
        sigma_cell = pm.HalfNormal("sigma_cell", 1.0)
        sigma_y = pm.HalfNormal("sigma_y", 1.0)
        # Centred: every condition and person has many points, so the data pin their
        # effects down and the centred form samples better than the non-centred one.
        condition_effect = pm.Normal("condition_effect", alpha, sigma_condition, dims="condition")
        person_effect = pm.Normal("person_effect", 0.0, sigma_person, dims="person")
        slope = pm.Normal("standard_slope", 0.0, 1.0, dims="condition")
        b = slope[data.condition]
        location = condition_effect[data.condition] + person_effect[data.person]
        # The residuals y - b x of each cell: their mean and within-cell sum of squares.
        mean = (sy - b * sx) / n
        within = syy - 2.0 * b * sxy + b**2 * sxx - n * mean**2
        between = sigma_cell**2 + sigma_y**2 / n
        pm.Potential(
            "cells",
            pt.sum(
                -(n - 1.0) * pt.log(sigma_y)
                - pt.maximum(within, 0.0) / (2.0 * sigma_y**2)
                - 0.5 * pt.log(between)
                - (mean - location) ** 2 / (2.0 * between)
            ),
        )
    return model


def add_slopes(tree: xr.DataTree, x_sd: float, y_sd: float) -> xr.DataTree:
    """``slope``: the standardised slopes in the data's units."""
    posterior = tree["posterior"].to_dataset()
    posterior["slope"] = posterior["standard_slope"] * (y_sd / x_sd)
    tree["posterior"] = xr.DataTree(posterior)
    return tree


def fit_slopes(
    rows: pl.DataFrame,
    *,
    model_name: str,
    prob: float = 0.94,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int = 2,
    seed: int = 0,
    retries: int = 1,
    sampler: Sampler = "auto",
    target_accept: float = 0.9,
    what: str = "slope fit",
) -> SlopeResult:
    """Fit the model to validated rows ``[person, condition, x, y]`` (text, text, float,
    float); gated sampling as in :func:`study.variance.attempts.sample_until_passed`."""
    data = cell_statistics(rows)
    settings = SamplerSettings(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        sampler=sampler,
        target_accept=target_accept,
        progress=False,
    )
    attempts = sample_until_passed(
        slope_model(data),
        SAMPLED,
        settings,
        retries,
        derive=lambda tree: add_slopes(tree, data.x_sd, data.y_sd),
        gated=GATED,
        informational=INFORMATIONAL,
    )
    warn_if_failed(attempts, what)
    posterior = attempts.tree["posterior"].to_dataset()
    draws_by_condition, records = {}, []
    for condition in data.conditions:
        values = flat(posterior["slope"].sel(condition=condition))
        draws_by_condition[condition] = values
        low, high = interval(values, prob, "eti")
        counted = rows.filter(pl.col(CONDITION) == condition)
        records.append(
            {
                "model": model_name,
                "condition": condition,
                "slope": float(values.mean()),
                "lower": low,
                "upper": high,
                "diagnostics": "passed" if attempts.passed else "failed",
                "n_persons": counted[PERSON].n_unique(),
                "n_points": counted.height,
                "interval": f"{round(prob * 100)}% ETI",
            }
        )
    return SlopeResult(
        table=pd.DataFrame(records, columns=SLOPE_COLUMNS),
        draws=draws_by_condition,
        diagnostics=attempts.diagnostics,
        passed=attempts.passed,
        tree=attempts.tree,
        notes=list(attempts.notes),
    )
