"""C4 leakage: how much of the co-hosted partners' preambles shows in the target's
option log-odds (STUDY.md, "C4: hosting several personas in one context").

Input: long rows ``[experiment, person, x, y]``, one per (co-hosted span, option
coordinate): ``y = l_cohosted - l_target_alone`` and ``x = mean over partners of
(l_partner_alone - l_target_alone)``, ``l`` the centred log option probabilities (or
the response's log-probability where there is no option set). If the co-hosted log-odds
are ``(1 - lambda) l_target + lambda l_partners``, then ``y = lambda x``: ``lambda = 0``
is no leakage, 1 is the partners' profiles alone.

The coordinates of one span are not independent (centred log-probabilities sum to 0;
in the simulated engine all of a span's noise lies along one direction). Rows that
carry a ``span`` column (any key of the co-hosted span within its person, such as the
choice index) are therefore collapsed first: each span becomes one observation, its
projection on ``x``, ``x' = |x_s|`` and ``y' = <y_s, x_s> / |x_s|``. That keeps every
person's ``Sxx`` and ``Sxy`` (so the slopes), counts spans rather than coordinates as
observations, and drops the residual orthogonal to ``x``. Without ``span`` each row is
an observation: the slopes are the same and the intervals still cover (the persons'
excess scatter goes into ``sigma_person``), but they are wider (about 30% in a
simulation with four options) and ``sigma_y`` is not the per-span noise.

Model, persons ``p`` nested in experiments ``e``, rows ``i`` in persons::

    y_i          = lambda_p x_i + eps_i,        eps_i ~ Normal(0, sigma_y[e]**2)
    lambda_p     = lambda_e + sigma_person z_p, z_p ~ Normal(0, 1)
    lambda_e     = lambda + tau z_e,            z_e ~ Normal(0, 1)
    lambda       ~ Normal(0, 1)
    tau          ~ HalfNormal(0.5)
    sigma_person ~ HalfNormal(0.5)
    sigma_y[e]   ~ HalfStudentT(3, s_y),        s_y the root mean square of y

``lambda`` is the mixture weight, so its scale is 1 and the SDs' scale half that; it is
not constrained to [0, 1]: an estimate below 0 (the partners repel) or above 1 (they
dominate) is itself a finding.

The fit does not grow with the rows: a person enters through ``n``, ``Sxx = sum x**2``,
``Sxy = sum x y`` and ``Syy = sum y**2``. Given ``lambda_p`` the rows' likelihood is
that of the person's slope ``b_p = Sxy / Sxx ~ Normal(lambda_p, sigma_y**2 / Sxx)``
times that of the residual sum of squares ``Syy - Sxy**2 / Sxx ~ sigma_y**2
chi2(n - 1)``: V2's structure (:mod:`study.variance.individuation`) with ``b_p`` as the
person's mean and ``Sxx`` as its number of choices. The model is sampled in an exactly
equivalent form: ``lambda_p``, ``lambda_e`` and ``lambda`` are integrated out (all
normal and linear; the experiments' weighted mean slopes ``m_e ~ N(lambda, tau**2 + 1 /
W_e)``, V2's ``marginal_loglik`` one level up), so NUTS sees only ``tau`` and the SDs:
no funnel between ``lambda`` and ``tau``, which a handful of experiments leave wide
(sampling ``lambda`` gave divergences in every test fit). ``lambda`` and then
``lambda_e`` are drawn afterwards from their exact conditional distributions. The data
enter as ``pm.Data``, so a second fit of the same design (a coverage loop) reuses the
compiled model.

Rows are treated as independent given ``lambda_p``. The coordinates of one span are
not (centred log-probabilities sum to zero): ``sigma_y`` then misstates the per-row
noise and ``sigma_person`` absorbs the persons' excess scatter, while ``lambda`` and
``lambda_e``, driven by the persons' slopes, keep their meaning.

Left out, with a line in ``notes``: persons whose ``x`` is 0 on every row (the
partners' prompts change nothing: no information on their ``lambda_p``), so an
experiment whose ``x`` is 0 throughout; an experiment where ``y`` is exactly ``b_p x``
for every person (a residual SD of 0 has an infinite density).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from study.hosting.rows import EXPERIMENT, PERSON, person_rows
from study.variance.attempts import sample_until_passed, warn_if_failed
from study.variance.design import Source
from study.variance.individuation import POOLED, MeanCells, marginal_loglik, normal_draw
from study.variance.posterior import flat
from study.variance.sampling import Sampler, SamplerSettings
from study.variance.tables import interval

# Priors (module docstring): lambda is a mixture weight, so its scale is 1.
LAMBDA_PRIOR_SD, TAU_PRIOR_SD, SIGMA_PERSON_PRIOR_SD = 1.0, 0.5, 0.5
SAMPLED = ["tau", "sigma_person", "sigma_y", "experiment_precision", "experiment_slope"]
SPAN = "span"
GATED = ["lambda", "tau", "sigma_person", "sigma_y", "lambda_experiment"]
INFORMATIONAL = ["experiment_precision", "experiment_slope"]


@dataclass
class LeakageResult:
    """``table``: one row for the pooled ``lambda`` (experiment ``'(pooled)'``) and one
    per experiment kept (``lambda_e``): ``estimate`` (posterior mean), ``lower``,
    ``upper`` (equal-tailed interval of ``prob``), ``n_persons``, ``n_rows`` (the
    observations: rows, or spans where the rows carry a ``span`` column),
    ``interval``, ``passed``; ``diagnostics`` (the gate's table); ``tree`` (DataTree
    with ``lambda``, ``tau``, ``sigma_person``, and per ``experiment`` ``sigma_y`` and
    ``lambda_experiment``); ``notes``: what was left out and why, and resampling."""

    table: pd.DataFrame
    diagnostics: pd.DataFrame
    passed: bool
    tree: xr.DataTree
    notes: list[str] = field(default_factory=list)


def person_statistics(frame: pl.DataFrame) -> pl.DataFrame:
    """Per person (experiment, person): ``n`` observations, ``sxx``, ``sxy``, ``syy``;
    sorted. An observation is a row, or, where ``frame`` has a ``span`` column, a span's
    projection on ``x`` (module docstring; a span whose ``x`` is 0 is none).

    >>> rows = pl.DataFrame({"experiment": ["e"] * 2, "person": ["1"] * 2,
    ...                      "x": [1.0, 2.0], "y": [0.5, 1.0]})
    >>> person_statistics(rows).row(0)
    ('e', '1', 2, 5.0, 2.5, 1.25)
    >>> person_statistics(rows.with_columns(span=pl.lit("k0"))).row(0)
    ('e', '1', 1, 5.0, 2.5, 1.25)
    """
    x, y = pl.col("x"), pl.col("y")
    person = [EXPERIMENT, PERSON]
    if SPAN not in frame.columns:
        observations = frame.select(
            *person, (x * x).alias("sxx"), (x * y).alias("sxy"), (y * y).alias("syy")
        )
    else:
        observations = (
            frame.group_by([*person, SPAN])
            .agg((x * x).sum().alias("sxx"), (x * y).sum().alias("sxy"))
            .filter(pl.col("sxx") > 0)
            .with_columns((pl.col("sxy") ** 2 / pl.col("sxx")).alias("syy"))
        )
    totals = observations.group_by(person).agg(
        pl.len().alias("n"), pl.col("sxx").sum(), pl.col("sxy").sum(), pl.col("syy").sum()
    )
    # A person all of whose spans have x = 0 keeps a row (n = 0), to be noted as such.
    everyone = frame.select(person).unique()
    return (
        everyone.join(totals, on=person, how="left")
        .with_columns(
            pl.col("n").fill_null(0).cast(pl.Int64), pl.col(["sxx", "sxy", "syy"]).fill_null(0.0)
        )
        .select(*person, "n", "sxx", "sxy", "syy")
        .sort(person)
    )


def kept_persons(stats: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The persons of :func:`person_statistics` that inform lambda, with their ``slope``
    ``Sxy / Sxx`` and residual sum of squares ``rss``, and the notes on what was left out
    (see the module docstring)."""
    informative = stats.filter(pl.col("sxx") > 0).with_columns(
        (pl.col("sxy") / pl.col("sxx")).alias("slope"),
        # Clipped: rounding can leave -1e-17 where y is x times a constant.
        (pl.col("syy") - pl.col("sxy") ** 2 / pl.col("sxx")).clip(lower_bound=0).alias("rss"),
    )
    totals = informative.group_by(EXPERIMENT).agg(
        pl.col("rss").sum(), pl.col("syy").sum(), (pl.col("n") - 1).sum().alias("dof")
    )
    # Relative to y's size: a residual of rounding error is no residual.
    no_residual = (pl.col("rss") <= 1e-12 * pl.col("syy")) & (pl.col("dof") > 0)
    exact = set(totals.filter(no_residual)[EXPERIMENT].to_list())
    present = set(informative[EXPERIMENT].to_list())
    flat_x = Counter(stats.filter(pl.col("sxx") <= 0)[EXPERIMENT].to_list())
    notes = []
    for experiment in sorted(set(stats[EXPERIMENT].to_list())):
        if experiment not in present:
            notes.append(f"experiment {experiment!r} left out: x is 0 on every row")
            continue
        if experiment in exact:
            notes.append(
                f"experiment {experiment!r} left out: y is exactly proportional to x within "
                "every person (no residual to estimate sigma_y from)"
            )
        if flat_x[experiment]:
            notes.append(
                f"experiment {experiment!r}: {flat_x[experiment]} person(s) left out: "
                "x is 0 on every row (the partners' prompts change nothing)"
            )
    return informative.filter(pl.col(EXPERIMENT).is_in(list(exact)).not_()), notes


def fit_leakage(
    rows: pd.DataFrame | pl.DataFrame,
    *,
    prob: float = 0.94,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int = 2,
    seed: int = 0,
    retries: int = 1,
    sampler: Sampler = "auto",
    target_accept: float = 0.9,
    source: str = "data frame",
) -> LeakageResult:
    """Fit the leakage model (module docstring) to rows ``[experiment, person, x, y]``;
    a fit that fails the diagnostics gate is resampled up to ``retries`` times and, if it
    still fails, reported with ``passed=False`` (and a warning). ``source`` names the
    rows in error messages."""
    where = Source(source)
    keys = [SPAN] if SPAN in rows.columns else []
    frame = person_rows(rows, ["x", "y"], where, keys=keys)
    stats, notes = kept_persons(person_statistics(frame))
    if not stats.height:
        raise where.error(
            "no experiment can inform the leakage: "
            + ("; ".join(notes) if notes else "there are no rows")
        )
    model = leakage_model(stats)
    # No progress bar: a fit takes seconds and often runs in a loop.
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
        model,
        SAMPLED,
        settings,
        retries,
        derive=lambda tree: add_leakage_draws(tree, seed),
        gated=GATED,
        informational=INFORMATIONAL,
    )
    tree, diagnostics, passed = attempts.tree, attempts.diagnostics, attempts.passed
    table = _leakage_table(tree["posterior"].to_dataset(), stats, prob, passed)
    warn_if_failed(attempts, "leakage fit")
    return LeakageResult(
        table=table,
        diagnostics=diagnostics,
        passed=passed,
        tree=tree,
        notes=[*notes, *attempts.notes],
    )


def leakage_model(stats: pl.DataFrame) -> pm.Model:
    """The PyMC model of the kept persons' statistics, persons, experiments and lambda
    integrated out (module docstring). Per experiment it records ``experiment_precision``
    ``W_e = sum w_p`` and ``experiment_slope`` ``m_e = sum w_p b_p / W_e``, ``w_p = 1 /
    (sigma_person**2 + sigma_y[e]**2 / Sxx_p)``: all that lambda's and lambda_e's
    conditional distributions need."""
    experiments = sorted(set(stats[EXPERIMENT].to_list()))
    group = np.array([experiments.index(e) for e in stats[EXPERIMENT]])
    n_groups = len(experiments)
    n_rows = stats["n"].to_numpy().astype(np.float64)
    values = {
        "person_slope": stats["slope"].to_numpy(),
        "person_sxx": stats["sxx"].to_numpy(),
        "experiment_dof": np.bincount(group, weights=n_rows - 1.0, minlength=n_groups),
        "experiment_rss": np.bincount(group, weights=stats["rss"].to_numpy(), minlength=n_groups),
        "y_scale": max(float(np.sqrt(stats["syy"].to_numpy().sum() / n_rows.sum())), 1e-6),
    }
    with pm.Model(coords={"experiment": experiments}) as model:
        # Data, not constants: the compiled model is reused for another data set of the
        # same shape (see study.variance.sampling).
        data: dict[str, Any] = {name: pm.Data(name, value) for name, value in values.items()}
        slope, sxx = data["person_slope"], data["person_sxx"]
        tau = pm.HalfNormal("tau", TAU_PRIOR_SD)
        sigma_person = pm.HalfNormal("sigma_person", SIGMA_PERSON_PRIOR_SD)
        sigma_y = pm.HalfStudentT("sigma_y", nu=3, sigma=data["y_scale"], dims="experiment")
        weight = 1.0 / (sigma_person**2 + sigma_y[group] ** 2 / sxx)

        def per_experiment(values):
            return pt.inc_subtensor(pt.zeros(n_groups)[group], values)

        precision = pm.Deterministic(
            "experiment_precision", per_experiment(weight), dims="experiment"
        )
        mean = pm.Deterministic(
            "experiment_slope", per_experiment(weight * slope) / precision, dims="experiment"
        )
        # Persons given their experiment's weighted mean slope: the part of V2's
        # marginal likelihood that neither lambda nor tau enters.
        pm.Potential(
            "persons",
            -0.5
            * (
                pt.sum(-pt.log(weight))
                + pt.sum(pt.log(precision))
                + pt.sum(weight * (slope - mean[group]) ** 2)
            ),
        )
        # The experiments' mean slopes m_e ~ N(lambda, tau**2 + 1 / W_e), lambda ~ N(0,
        # LAMBDA_PRIOR_SD**2) integrated out: V2's marginal likelihood one level up, all
        # experiments one group around a fixed 0.
        ones = np.ones(n_groups)
        experiment_cells = MeanCells(
            group=np.zeros(n_groups, dtype=np.int64), n=ones, count=ones, sum=mean, sum_sq=mean**2
        )
        pm.Potential(
            "experiments",
            marginal_loglik(
                experiment_cells,
                0.0,
                1.0 / (tau**2 + 1.0 / precision),
                pt.as_tensor([LAMBDA_PRIOR_SD**2]),
            ),
        )
        # sigma_y's part of the scaled chi-square density of the residual sums of squares
        # (the rest is constant); 0 where an experiment has one row per person.
        pm.Potential(
            "residuals",
            pt.sum(
                -data["experiment_dof"] * pt.log(sigma_y)
                - data["experiment_rss"] / (2.0 * sigma_y**2)
            ),
        )
    return model


def add_leakage_draws(tree: xr.DataTree, seed: int) -> xr.DataTree:
    """Add ``lambda`` and ``lambda_experiment``, one draw each per posterior draw from
    their exact conditional distributions (:func:`~study.variance.individuation.normal_draw`):
    lambda given the experiments' mean slopes ``m_e`` of variance ``tau**2 + 1 / W_e``;
    then lambda_e given lambda (prior variance ``tau**2``) and ``W_e``, ``W_e m_e``."""
    posterior = tree["posterior"].to_dataset()
    rng = np.random.default_rng([seed, 12])
    tau2 = posterior["tau"].values[..., None] ** 2
    precision = posterior["experiment_precision"].values
    mean = posterior["experiment_slope"].values
    weight = 1.0 / (tau2 + 1.0 / precision)
    leakage = normal_draw(
        np.zeros(weight.shape[:-1]),
        LAMBDA_PRIOR_SD**2,
        weight.sum(axis=-1),
        (weight * mean).sum(axis=-1),
        rng,
    )
    effect = normal_draw(leakage[..., None], tau2, precision, precision * mean, rng)
    posterior["lambda"] = (("chain", "draw"), leakage)
    posterior["lambda_experiment"] = (("chain", "draw", "experiment"), effect)
    tree["posterior"] = xr.DataTree(posterior)
    return tree


def _leakage_table(
    posterior: xr.Dataset, stats: pl.DataFrame, prob: float, passed: bool
) -> pd.DataFrame:
    rows = [(POOLED, flat(posterior["lambda"]), stats)]
    for experiment in posterior["experiment"].values:
        rows.append(
            (
                str(experiment),
                flat(posterior["lambda_experiment"].sel(experiment=experiment)),
                stats.filter(pl.col(EXPERIMENT) == str(experiment)),
            )
        )
    records = []
    for experiment, draws, counted in rows:
        low, high = interval(draws, prob, "eti")
        records.append(
            {
                "experiment": experiment,
                "estimate": float(draws.mean()),
                "lower": low,
                "upper": high,
                "n_persons": int(counted.height),
                "n_rows": int(counted["n"].sum()),
            }
        )
    table = pd.DataFrame(records)
    table["interval"] = f"{round(prob * 100)}% ETI"
    table["passed"] = passed
    return table
