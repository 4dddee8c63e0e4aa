"""V1 as a model object, bambi-shaped: build once, look at it, fit it::

    vm = VarianceModel(data, "y ~ 1 + (1|person) + (1|persona)", family="bernoulli")
    print(vm)                      # every term and prior
    result = vm.fit()              # draws until the gate is met (or draws=, tune=, ...)
    arviz.loo(result.tree)         # log_likelihood per cell (see study.variance.groups)

``vm.model`` is the PyMC model (``pm.model_to_graphviz(vm.model)``, prior predictive
draws, your own edits before fitting). :func:`study.variance.fit` is the one-call
shortcut that builds and fits in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pymc as pm

from study.errors import ConfigError
from study.variance.attempts import sample_until_passed, warn_if_failed
from study.variance.design import Cells, Source, build_cells, to_polars
from study.variance.families import Family, get_family
from study.variance.groups import (
    attach,
    cell_log_likelihood,
    data_groups,
    wants_log_likelihood,
)
from study.variance.model import Layout, Priors, build_model, pilot_centring
from study.variance.posterior import NONADDITIVE, add_derived
from study.variance.reml import compare_with_bayes, reml_components
from study.variance.result import VarianceResult
from study.variance.sampling import (
    Sampler,
    SamplerSettings,
    default_chains,
    default_target_accept,
    n_free_parameters,
)
from study.variance.spec import ModelSpec, components_from_factors, parse_formula
from study.variance.tables import IntervalKind, components_table, resolve_interval

# The defaults of a plain ``fit()``: TUNE tuning draws per chain, then draws examined in
# blocks of BLOCK per chain until the gate is met, at most MAX_DRAWS (see ``fit``).
TUNE = 150
BLOCK = 50
MAX_DRAWS = 2000

# Chains when ``draws`` is fixed and ``chains`` not given (see :meth:`VarianceModel.fit`).
FIXED_DRAWS_CHAINS = 4


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


class VarianceModel:
    """Crossed (and nested) random intercepts on a data frame, ready to fit.

    ``formula`` (``"y ~ 1 + (1|person) + (1|persona) + (1|person:persona)"``; see
    :mod:`study.variance.spec` for the syntax) or ``outcome`` + ``factors`` say what to
    fit; rows sharing every factor level are replicates and form the ``residual``
    component. ``family``: ``gaussian``, ``bernoulli``, ``binomial`` (trials in the
    formula or ``trials=``) or ``ordered`` (``categories`` orders text labels).
    ``priors``: :class:`~study.variance.model.Priors`. ``centring`` overrides the
    automatic centring weight of a factor (1 centred, 0 non-centred). ``cell_columns``
    adds columns that split cells without a component of their own: to compare a model
    without a factor against one with it by LOO, give the smaller one the larger one's
    columns, so that both score the same cells. ``source`` and ``first_line`` name the
    rows in error messages (a CSV: its path and 2).

    Attributes: ``model`` (the ``pymc.Model``), ``spec``, ``family``, ``layout``,
    ``cells`` (the data as the model sees it), ``priors``.
    """

    def __init__(
        self,
        data: pd.DataFrame | pl.DataFrame,
        formula: str | None = None,
        family: str = "gaussian",
        *,
        priors: Priors | None = None,
        outcome: str | None = None,
        factors: list[str] | tuple[str, ...] | None = None,
        trials: str | None = None,
        categories: list[Any] | None = None,
        residual: str = "residual",
        centring: Mapping[str, float] | None = None,
        max_stored_levels: int = 2000,
        cell_columns: list[str] | tuple[str, ...] = (),
        source: str = "data frame",
        first_line: int = 1,
    ) -> None:
        self.spec = make_spec(formula, outcome, factors, trials)
        self.family: Family = get_family(family, categories)
        factor_names = tuple(c.name for c in self.spec.components)
        if residual in factor_names or residual == NONADDITIVE:
            raise ConfigError(f"residual name {residual!r} clashes with a component name")
        self.residual = residual
        where = Source(source, first_line)
        extra = [c for c in cell_columns if c not in self.spec.columns]
        wanted = [*self.spec.columns, *extra, *self.family.outcome_columns(self.spec)]
        self.frame = to_polars(data, wanted, where)
        cells, cell_of_row = build_cells(self.frame, self.spec, where, extra)
        cells.stats = self.family.summarise(self.frame, self.spec, cells, cell_of_row, where)
        self.cells: Cells = cells
        self.priors = priors or Priors()
        scale = self.priors.resolved(self.family, cells)[0]
        weights = pilot_centring(cells, self.family, factor_names, scale)
        for name, weight in (centring or {}).items():
            if name not in weights or not 0.0 <= weight <= 1.0:
                raise ConfigError(f"centring[{name!r}] must name a factor and lie in [0, 1]")
            weights[name] = float(weight)
        self.model: pm.Model
        self.layout: Layout
        self.model, self.layout = build_model(
            cells, self.family, factor_names, self.priors, weights, max_stored_levels
        )

    # -- the printed form ---------------------------------------------------------------
    def __str__(self) -> str:
        layout, family = self.layout, self.family
        outcome = self.spec.outcome
        if self.spec.trials is not None:
            outcome = f"{outcome} successes of {self.spec.trials} trials"
        lines = [
            f"VarianceModel: {family.name} family, outcome {outcome!r}",
            f"  {self.cells.n_rows} rows in {self.cells.n_cells} cells "
            "(unique combinations of factor levels; replicate rows are the residual)",
        ]
        if family.has_intercept:
            lines.append(
                f"  intercept ~ Normal({layout.intercept_mean:.4g}, {layout.intercept_sd:.4g})"
            )
        lines.append(f"  {'term':<28} {'levels':>7} {'centring':>8}  prior on its SD")
        for factor, levels, weight in zip(
            layout.factors, layout.levels, layout.centring, strict=True
        ):
            prior = (
                f"sigma[{factor}] ~ HalfStudentT(nu={self.priors.sd_nu:g}, "
                f"sigma={layout.scale:.4g})"
            )
            lines.append(f"  {f'(1|{factor})':<28} {levels:>7} {weight:>8.2f}  {prior}")
        residual = "sigma_residual**2" if family.name == "gaussian" else "pi**2/3 (logistic latent)"
        lines.append(f"  residual {self.residual!r}: replicate rows of a cell, variance {residual}")
        lines.extend(f"  {line}" for line in family.describe_priors())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    # -- fitting ------------------------------------------------------------------------
    def fit(
        self,
        *,
        draws: int | None = None,
        tune: int = TUNE,
        chains: int | None = None,
        target_accept: float | None = None,
        seed: int = 0,
        cores: int | None = None,
        sampler: Sampler = "auto",
        retries: int = 1,
        progress: bool = False,
        ci_prob: float | None = None,
        ci_kind: IntervalKind | None = None,
        reml: bool | None = None,
        log_likelihood: bool | None = None,
    ) -> VarianceResult:
        """Sample the posterior through the diagnostics gate; return the result.

        The defaults stop drawing once the gate is met: after ``tune`` (:data:`TUNE`)
        tuning draws per chain, draws are examined in blocks of :data:`BLOCK` per chain and
        sampling stops at the first block count at which every gated quantity has R-hat
        <= 1.01 and bulk ESS >= 400 (or at a divergence, which fails the gate and triggers
        the retry), up to :data:`MAX_DRAWS`; nutpie keeps sampling in the background while
        a block is examined, and the blocks are examined in order, so the same seed gives
        the same draws (exactly the first ones of an uninterrupted run). ``draws=N`` draws
        exactly N per chain instead. ``chains`` defaults to one per CPU this process may
        use (at least 2, at most 8: :func:`study.variance.sampling.default_chains`), so
        that all run at once; with ``draws=N``, to :data:`FIXED_DRAWS_CHAINS` (4). The time
        goes to the leapfrog steps of tuning and drawing (about 23 per draw on the
        benchmark's million rows); examining a block takes well under a second. Measured
        figures: docs/sections/variance.md. ``target_accept`` defaults to 0.8, or 0.7 for a
        model of 1,000 free parameters or more
        (:func:`study.variance.sampling.default_target_accept`).

        ``cores`` (default: the CPUs this process may use, at most ``chains``) chains run
        at once. A fit that fails the gate (R-hat <= 1.01, bulk ESS >= 400, no
        divergences) is resampled up to ``retries`` times
        (:func:`study.variance.attempts.retry_settings`; no recompilation); only the last
        attempt is reported, and ``notes`` says what was retried. ``ci_prob`` and
        ``ci_kind`` (``"eti"`` or ``"hdi"``) default to ArviZ's ``stats.ci_prob`` and
        ``stats.ci_kind``. ``reml`` (default: on for gaussian) adds statsmodels REML
        estimates. ``log_likelihood`` (default: when draws x cells is at most
        :data:`study.variance.groups.LOG_LIKELIHOOD_LIMIT`) adds the per-cell
        log-likelihood group that ``arviz.loo`` reads.

        A fit that fails the gate is marked failed (``passed`` False, in every table) and
        a :class:`DiagnosticsWarning` is issued.
        """
        prob, kind = resolve_interval(ci_prob, ci_kind)
        family, layout = self.family, self.layout
        if chains is None:
            # A fixed draw count is sized for PyMC's usual 4 chains (2 chains of 500 miss the
            # ESS gate far more often); adaptive draws reach the gate with any count.
            chains = default_chains() if draws is None else FIXED_DRAWS_CHAINS
        if target_accept is None:
            target_accept = default_target_accept(n_free_parameters(self.model))
        settings = SamplerSettings(
            draws=MAX_DRAWS if draws is None else draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            sampler=sampler,
            target_accept=target_accept,
            progress=progress,
        )
        with_log_likelihood = wants_log_likelihood(
            log_likelihood, chains * settings.draws, self.cells
        )
        intercept = ["grand_mean"] if family.has_intercept else []
        effects = [layout.effect_name(f) for f in layout.stored_effects]
        # The log-likelihood (and posterior predictive draws) need every level effect: the
        # raw ones are sampled too. They stay in memory; saved files leave them out.
        raw = [f"raw_{f}" for f in layout.factors] if with_log_likelihood else []
        gated = ["sigma", *family.parameters, *intercept, "variance", "latent_share", "data_share"]
        gated.append("intercept" if family.has_intercept else "population_cutpoints")
        attempts = sample_until_passed(
            self.model,
            ["sigma", *family.parameters, *intercept, *effects, *raw],
            settings,
            retries,
            derive=lambda tree: add_derived(tree, layout, family, self.residual, seed),
            gated=gated,
            informational=effects,
            block=BLOCK if draws is None else None,
        )
        tree, notes = attempts.tree, attempts.notes
        groups = data_groups(self.model, self.cells, family)
        if with_log_likelihood:
            groups["log_likelihood"] = cell_log_likelihood(
                tree, self.model, self.cells, [family.observed]
            )
        else:
            notes.append(
                f"log_likelihood left out: {chains * settings.draws} draws x "
                f"{self.cells.n_cells} cells "
                "is large; fit(log_likelihood=True) adds it"
            )
        tree = attach(tree, groups)
        posterior = tree["posterior"].to_dataset()
        components = components_table(posterior, prob, kind, attempts.passed)
        reml_table = self._reml(components, notes, reml)
        warn_if_failed(
            attempts,
            "variance fit",
            DiagnosticsWarning,
            "; results are marked failed",
            at_user_code=True,
        )
        return VarianceResult(
            tree=tree,
            components=components,
            diagnostics=attempts.diagnostics,
            passed=attempts.passed,
            spec=self.spec,
            family=family,
            layout=layout,
            residual=self.residual,
            prob=prob,
            interval_kind=kind,
            column_levels=dict(self.cells.column_levels),
            runs_per_cell=float(np.median(self.cells.replicates)),
            seed=seed,
            reml=reml_table,
            notes=notes,
            model=self.model,
        )

    def _reml(
        self, components: pd.DataFrame, notes: list[str], reml: bool | None
    ) -> pd.DataFrame | None:
        """The REML cross-check (gaussian), or None."""
        if reml is None:
            reml = self.family.name == "gaussian"
        if not reml:
            return None
        if self.family.name != "gaussian":
            raise ConfigError("the REML cross-check applies to the gaussian family only")
        estimates = reml_components(self.frame, self.spec, self.residual)
        if estimates is None:
            notes.append("REML cross-check skipped: design too large for a dense REML fit")
            return None
        return compare_with_bayes(estimates, components)


__all__ = ["DiagnosticsWarning", "VarianceModel", "make_spec"]
