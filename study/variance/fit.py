"""V1: fit a variance decomposition to a user's data frame.

See :func:`fit`; the README section (docs/sections/variance.md) walks through a fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from study.errors import ConfigError
from study.variance.attempts import sample_until_passed, warn_if_failed
from study.variance.design import Source, build_cells, to_polars
from study.variance.families import get_family
from study.variance.model import Priors, build_model, pilot_centring
from study.variance.posterior import NONADDITIVE, add_derived
from study.variance.reml import compare_with_bayes, reml_components
from study.variance.result import VarianceResult
from study.variance.sampling import Sampler, SamplerSettings
from study.variance.spec import ModelSpec, components_from_factors, parse_formula
from study.variance.tables import IntervalKind, components_table


class DiagnosticsWarning(UserWarning):
    """A fit failed its diagnostics gate; its tables and plots are marked failed."""


def make_spec(
    formula: str | None,
    outcome: str | None,
    factors: list[str] | tuple[str, ...] | None,
    trials: str | None,
) -> ModelSpec:
    """The model spec from either a formula or ``outcome`` + ``factors``."""
    if formula is not None:
        if outcome is not None or factors is not None:
            raise ConfigError("give either a formula or outcome= and factors=, not both")
        spec = parse_formula(formula)
        if trials is not None:
            spec = ModelSpec(spec.outcome, spec.components, trials)
        return spec
    if outcome is None or factors is None:
        raise ConfigError("give a formula, or both outcome= and factors=")
    return ModelSpec(outcome, components_from_factors(list(factors)), trials)


def fit(
    data: pd.DataFrame | pl.DataFrame,
    formula: str | None = None,
    *,
    outcome: str | None = None,
    factors: list[str] | tuple[str, ...] | None = None,
    family: str = "gaussian",
    trials: str | None = None,
    categories: list[Any] | None = None,
    residual: str = "residual",
    priors: Priors | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int = 2,
    seed: int = 0,
    sampler: Sampler = "auto",
    target_accept: float = 0.8,
    prob: float = 0.94,
    interval_kind: IntervalKind = "eti",
    centring: Mapping[str, float] | None = None,
    reml: bool | None = None,
    max_stored_levels: int = 2000,
    retries: int = 1,
    progress: bool = False,
    source: str = "data frame",
    first_line: int = 1,
) -> VarianceResult:
    """Fit crossed (and nested) random intercepts and decompose the outcome's variance.

    ``formula`` (``"y ~ 1 + (1|person) + (1|persona) + (1|person:persona)"``) or
    ``outcome`` + ``factors`` (``["person", "persona", "person:persona"]``; your own column
    names) say what to fit; rows sharing every factor level are replicates (runs) and
    form the ``residual`` component, named as you like (``residual="run"``).

    Families: ``gaussian``; ``bernoulli`` (0/1 rows, aggregated to counts per cell);
    ``binomial`` (``trials=`` column); ``ordered`` (cumulative logit for rating scales;
    ``categories`` orders text labels). ``centring`` overrides the automatic centring
    weight of a factor (1 centred, 0 non-centred). ``reml`` (default: on for gaussian)
    adds statsmodels REML estimates. ``source`` and ``first_line`` name the rows in error
    messages (a CSV: its path and 2). A fit that fails the gate is resampled up to
    ``retries`` times (:func:`study.variance.attempts.retry_settings`; no recompilation);
    only the last attempt is reported, and ``notes`` says what was retried.

    Returns a :class:`VarianceResult`; when the fit fails the diagnostics gate it is
    marked failed (``passed`` False, in every table) and a :class:`DiagnosticsWarning`
    is issued.
    """
    spec = make_spec(formula, outcome, factors, trials)
    fam = get_family(family, categories)
    factor_names = tuple(c.name for c in spec.components)
    if residual in factor_names or residual == NONADDITIVE:
        raise ConfigError(f"residual name {residual!r} clashes with a component name")
    if not 0 < prob < 1:
        raise ConfigError(f"prob must be between 0 and 1, got {prob}")
    where = Source(source, first_line)
    frame = to_polars(data, [*spec.columns, *fam.outcome_columns(spec)], where)
    cells, cell_of_row = build_cells(frame, spec, where)
    fam.summarise(frame, spec, cells, cell_of_row, where)

    chosen_priors = priors or Priors()
    weights = pilot_centring(cells, fam, factor_names, chosen_priors.resolved(fam, cells)[0])
    for name, weight in (centring or {}).items():
        if name not in weights or not 0.0 <= weight <= 1.0:
            raise ConfigError(f"centring[{name!r}] must name a factor and lie in [0, 1]")
        weights[name] = float(weight)
    model, layout = build_model(cells, fam, factor_names, chosen_priors, weights, max_stored_levels)
    family_params = {"gaussian": ["sigma_residual"], "ordered": ["cutpoints"]}.get(fam.name, [])
    intercept = ["grand_mean"] if fam.has_intercept else []
    effects = [layout.effect_name(f) for f in layout.stored_effects]
    settings = SamplerSettings(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        sampler=sampler,
        target_accept=target_accept,
        progress=progress,
    )
    gated = ["sigma", *family_params, *intercept, "variance", "latent_share", "data_share"]
    gated.append("intercept" if fam.has_intercept else "population_cutpoints")

    attempts = sample_until_passed(
        model,
        ["sigma", *family_params, *intercept, *effects],
        settings,
        retries,
        derive=lambda tree: add_derived(tree, layout, fam, residual, seed),
        gated=gated,
        informational=effects,
    )
    tree, diagnostics, passed, notes = (
        attempts.tree,
        attempts.diagnostics,
        attempts.passed,
        attempts.notes,
    )
    posterior = tree["posterior"].to_dataset()
    components = components_table(posterior, prob, interval_kind, passed)

    reml_table = None
    if reml is None:
        reml = fam.name == "gaussian"
    if reml:
        if fam.name != "gaussian":
            raise ConfigError("the REML cross-check applies to the gaussian family only")
        estimates = reml_components(frame, spec, residual)
        if estimates is None:
            notes.append("REML cross-check skipped: design too large for a dense REML fit")
        else:
            reml_table = compare_with_bayes(estimates, components)
    warn_if_failed(attempts, "variance fit", DiagnosticsWarning, "; results are marked failed")
    return VarianceResult(
        tree=tree,
        components=components,
        diagnostics=diagnostics,
        passed=passed,
        spec=spec,
        family=fam,
        layout=layout,
        residual=residual,
        prob=prob,
        interval_kind=interval_kind,
        column_levels=dict(cells.column_levels),
        runs_per_cell=float(np.median(cells.replicates)),
        seed=seed,
        reml=reml_table,
        notes=notes,
    )
