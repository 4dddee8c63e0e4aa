"""The result of a V1 fit: an ArviZ DataTree plus tidy tables and the study's statements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from study.variance.dstudy import RUN, d_study
from study.variance.families import Family
from study.variance.model import Layout
from study.variance.posterior import flat, population_location
from study.variance.shares import _NODES, _WEIGHTS
from study.variance.spec import ModelSpec
from study.variance.tables import IntervalKind, interval


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
    intervals, else None).
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

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as an xarray Dataset."""
        return self.tree["posterior"].to_dataset()

    # -- claims -------------------------------------------------------------------------
    def c1(self, persona: str = "persona") -> C1Statement:
        """C1 statement: data-scale residual (run) share vs the ``persona`` factor's share."""
        shares = self.posterior["data_share"]
        if persona not in shares["data_component"].values:
            raise KeyError(f"no factor {persona!r} in this fit; factors: {self.layout.factors}")
        run = flat(shares.sel(data_component=self.residual))
        other = flat(shares.sel(data_component=persona))
        return C1Statement(
            run_share=float(run.mean()),
            run_interval=interval(run, self.prob, self.interval_kind),
            persona_share=float(other.mean()),
            persona_interval=interval(other, self.prob, self.interval_kind),
            probability=float(np.mean(run >= other)),
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
