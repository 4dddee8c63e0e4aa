"""The result of a V1 fit: an ArviZ DataTree plus tidy tables and the study's statements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from study.variance.dstudy import RUN, d_study
from study.variance.families import Family
from study.variance.model import Layout
from study.variance.posterior import flat, population_location
from study.variance.shares import _NODES, _WEIGHTS
from study.variance.spec import ModelSpec
from study.variance.tables import IntervalKind, interval


@dataclass(frozen=True)
class ShareComparison:
    """Two components' shares of variance, draw by draw: ``a`` against ``b``.

    ``probability`` is P(share of ``a`` >= share of ``b``) over the posterior draws;
    ``scale`` is ``data`` (data-scale shares) or ``latent``; ``passed`` is the fit's
    diagnostics gate.
    """

    a: str
    b: str
    share_a: float
    interval_a: tuple[float, float]
    share_b: float
    interval_b: tuple[float, float]
    probability: float
    passed: bool
    scale: str = "data"

    def __str__(self) -> str:
        text = (
            f"{self.scale}-scale share of {self.a} {self.share_a:.3f} "
            f"[{self.interval_a[0]:.3f}, {self.interval_a[1]:.3f}] vs {self.b} "
            f"{self.share_b:.3f} [{self.interval_b[0]:.3f}, {self.interval_b[1]:.3f}]; "
            f"P({self.a} >= {self.b}) = {self.probability:.3f}"
        )
        if not self.passed:
            text += " (FIT FAILED ITS DIAGNOSTICS: do not interpret)"
        return text


def compare_shares(
    result: VarianceResult, a: str, b: str, scale: Literal["data", "latent"] = "data"
) -> ShareComparison:
    """Compare components ``a`` and ``b`` (any two of the fit's components, the residual
    included; ``nonadditive`` too on the data scale) by their shares of variance, with
    the fit's intervals (``result.prob``, ``result.interval_kind``)."""
    name, dim = (
        ("data_share", "data_component") if scale == "data" else ("latent_share", "component")
    )
    if scale not in ("data", "latent"):
        raise ValueError(f"scale must be 'data' or 'latent', got {scale!r}")
    shares = result.posterior[name]
    known = [str(v) for v in shares[dim].values]
    for label in (a, b):
        if label not in known:
            raise KeyError(f"no component {label!r} in this fit; components: {known}")
    first, second = flat(shares.sel({dim: a})), flat(shares.sel({dim: b}))
    return ShareComparison(
        a=a,
        b=b,
        share_a=float(first.mean()),
        interval_a=interval(first, result.prob, result.interval_kind),
        share_b=float(second.mean()),
        interval_b=interval(second, result.prob, result.interval_kind),
        probability=float(np.mean(first >= second)),
        passed=result.passed,
        scale=scale,
    )


@dataclass(frozen=True)
class C1Statement:
    """Claim C1 for one fit: is the data-scale run share at least the persona share?"""

    run_share: float
    run_interval: tuple[float, float]
    persona_share: float
    persona_interval: tuple[float, float]
    probability: float
    passed: bool
    run_label: str = "run"
    persona_label: str = "persona"

    @property
    def holds(self) -> bool:
        """C1 holds when P(run share >= persona share) is at least one half."""
        return self.probability >= 0.5

    def __str__(self) -> str:
        verdict = "holds" if self.holds else "does not hold"
        text = (
            f"C1 {verdict}: data-scale {self.run_label} share {self.run_share:.3f} "
            f"[{self.run_interval[0]:.3f}, {self.run_interval[1]:.3f}] vs "
            f"{self.persona_label} share {self.persona_share:.3f} "
            f"[{self.persona_interval[0]:.3f}, {self.persona_interval[1]:.3f}]; "
            f"P({self.run_label} >= {self.persona_label}) = {self.probability:.3f}"
        )
        if not self.passed:
            text += " (FIT FAILED ITS DIAGNOSTICS: do not interpret)"
        return text


@dataclass
class VarianceResult:
    """A fitted variance decomposition.

    Attributes: ``tree`` (ArviZ DataTree: ``posterior`` with ``sigma``, ``variance``,
    ``latent_share``, ``data_share``, level effects ``effect_<factor>``; ``sample_stats``),
    ``components`` (one row per component: variance, SD, latent and data-scale shares, each
    with its interval), ``diagnostics`` (R-hat, ESS, divergences, ``passed`` per row),
    ``passed`` (the whole gate), ``reml`` (gaussian: statsmodels REML beside the Bayesian
    intervals, else None), ``model`` (the ``pymc.Model`` sampled). The tree also holds
    ``observed_data``, ``constant_data`` and (unless left out for size, see ``notes``)
    ``log_likelihood``, one value per cell: ``arviz.loo(result.tree)`` works.
    """

    tree: xr.DataTree
    components: pd.DataFrame
    diagnostics: pd.DataFrame
    passed: bool
    spec: ModelSpec
    family: Family
    layout: Layout
    residual: str
    prob: float
    interval_kind: IntervalKind
    column_levels: dict[str, int]
    runs_per_cell: float
    seed: int
    reml: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    # The PyMC model that was sampled (for posterior predictive draws, graphs, edits).
    model: pm.Model | None = None

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as an xarray Dataset."""
        return self.tree["posterior"].to_dataset()

    # -- claims -------------------------------------------------------------------------
    def c1(self, persona: str = "persona") -> C1Statement:
        """C1 statement: data-scale residual (run) share vs the ``persona`` factor's share
        (the study's wording of :func:`compare_shares`)."""
        if persona not in self.layout.factors:
            raise KeyError(f"no factor {persona!r} in this fit; factors: {self.layout.factors}")
        comparison = compare_shares(self, self.residual, persona)
        return C1Statement(
            run_share=comparison.share_a,
            run_interval=comparison.interval_a,
            persona_share=comparison.share_b,
            persona_interval=comparison.interval_b,
            probability=comparison.probability,
            passed=self.passed,
            run_label=self.residual,
            persona_label=persona,
        )

    # -- D-study ------------------------------------------------------------------------
    def d_study(
        self,
        target: str = "persona",
        sizes: Mapping[str, Sequence[int]] | None = None,
        target_se: float | None = None,
    ) -> pd.DataFrame:
        """How precise a ``target`` level's effect would be for other numbers of runs,
        persons, personas... (see :mod:`study.variance.dstudy`). ``sizes`` defaults to the
        observed level counts and runs 1, 2, 5, 10, 20, 50."""
        grid: dict[str, Sequence[int]] = {c: [n] for c, n in self.column_levels.items()}
        grid[RUN] = [1, 2, 5, 10, 20, 50]
        grid.update(sizes or {})
        posterior = self.posterior
        variances = {f: flat(posterior["variance"].sel(component=f)) for f in self.layout.factors}
        columns = {c.name: c.columns for c in self.spec.components}
        return d_study(
            columns,
            variances,
            self.run_error_variance(),
            target=target,
            sizes=grid,
            prob=self.prob,
            target_se=target_se,
        )

    def run_error_variance(self) -> np.ndarray:
        """Latent-scale variance of one run: the residual variance (gaussian) or the inverse
        of the expected information about eta over the population (logistic links)."""
        posterior = self.posterior
        location, draws = population_location(posterior, self.layout, self.family, self.seed)
        if self.family.name == "gaussian":
            return self.family.latent_residual_variance(draws, location.size)
        spread = np.sqrt(np.sum(flat(posterior["sigma"]) ** 2, axis=1))
        eta = location[:, None] + spread[:, None] * _NODES[None, :]
        return 1.0 / (self.family.information(eta, draws) @ _WEIGHTS)

    # -- output -------------------------------------------------------------------------
    def save(self, folder: str | Path, persona: str = "persona") -> list[str]:
        """Write the fit into ``folder`` with :func:`study.variance.outputs.save_fit`
        (components.csv, diagnostics.csv, posterior.nc, plots, ...); return the names."""
        from study.variance.outputs import save_fit  # the I/O module imports this one

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return save_fit(self, lambda name: folder / name, persona=persona)

    def summary(self) -> str:
        """A short text report: the gate, then the components table."""
        status = "PASSED" if self.passed else "FAILED"
        shown = self.components[
            [
                "component",
                "variance",
                "variance_lower",
                "variance_upper",
                "latent_share",
                "data_share",
                "data_share_lower",
                "data_share_upper",
            ]
        ]
        return f"diagnostics {status}\n{shown.to_string(index=False, float_format='%.4f')}"
