"""V1: fit a variance decomposition to a user's data frame.

See :func:`fit`; the README section (docs/sections/variance.md) walks through a fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import polars as pl

from study.variance.model import Priors
from study.variance.result import VarianceResult
from study.variance.sampling import Sampler
from study.variance.tables import IntervalKind
from study.variance.variance_model import TUNE, DiagnosticsWarning, VarianceModel, make_spec


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
    draws: int | None = None,
    tune: int = TUNE,
    chains: int | None = None,
    cores: int | None = None,
    seed: int = 0,
    sampler: Sampler = "auto",
    target_accept: float | None = None,
    prob: float = 0.94,
    interval_kind: IntervalKind = "eti",
    centring: Mapping[str, float] | None = None,
    reml: bool | None = None,
    max_stored_levels: int = 2000,
    retries: int = 1,
    progress: bool = False,
    source: str = "data frame",
    first_line: int = 1,
    log_likelihood: bool | None = None,
) -> VarianceResult:
    """Build a :class:`~study.variance.variance_model.VarianceModel` and fit it, in one call.

    ``formula`` (``"y ~ 1 + (1|person) + (1|persona) + (1|person:persona)"``) or
    ``outcome`` + ``factors`` (``["person", "persona", "person:persona"]``; your own column
    names) say what to fit; rows sharing every factor level are replicates (runs) and
    form the ``residual`` component, named as you like (``residual="run"``).

    Families: ``gaussian``; ``bernoulli`` (0/1 rows, aggregated to counts per cell);
    ``binomial`` (``trials=`` column, or ``p(k, n)`` / ``k | trials(n)`` in the formula);
    ``ordered`` (cumulative logit for rating scales; ``categories`` orders text labels).
    ``centring`` overrides the automatic centring weight of a factor (1 centred, 0
    non-centred). ``reml`` (default: on for gaussian) adds statsmodels REML estimates.
    ``source`` and ``first_line`` name the rows in error messages (a CSV: its path and
    2). A fit that fails the gate is resampled up to ``retries`` times
    (:func:`study.variance.attempts.retry_settings`; no recompilation); only the last
    attempt is reported, and ``notes`` says what was retried. ``cores`` defaults to the
    CPUs this process may use (at most ``chains``). By default (``draws=None``) draws are
    made in blocks until the gate is met, after 150 tuning draws, with one chain per
    usable CPU (see :meth:`VarianceModel.fit`); ``draws=N`` draws exactly N per chain, in
    4 chains unless ``chains`` says otherwise. ``target_accept`` defaults to 0.8, or 0.7
    for a model of 1,000 free parameters or more.

    Unlike :meth:`VarianceModel.fit`, whose intervals follow ArviZ's settings, this
    shortcut keeps the study's fixed default: 94% equal-tailed intervals (``prob``,
    ``interval_kind``).

    Returns a :class:`VarianceResult`; when the fit fails the diagnostics gate it is
    marked failed (``passed`` False, in every table) and a :class:`DiagnosticsWarning`
    is issued.
    """
    model = VarianceModel(
        data,
        formula,
        family,
        priors=priors,
        outcome=outcome,
        factors=factors,
        trials=trials,
        categories=categories,
        residual=residual,
        centring=centring,
        max_stored_levels=max_stored_levels,
        source=source,
        first_line=first_line,
    )
    return model.fit(
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        seed=seed,
        cores=cores,
        sampler=sampler,
        retries=retries,
        progress=progress,
        ci_prob=prob,
        ci_kind=interval_kind,
        reml=reml,
        log_likelihood=log_likelihood,
    )


__all__ = ["DiagnosticsWarning", "fit", "make_spec"]
