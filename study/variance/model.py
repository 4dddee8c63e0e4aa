"""The PyMC model of V1: crossed random intercepts on the cells, with stated priors.

Linear predictor of cell i: ``eta_i = grand_mean + sum_f effect_f[level_f(i)]``.

Parametrisation (why it samples well with 5 personas):

- Each factor's effects are zero-sum (``ZeroSumNormal``): the sample mean of the effects
  moves into ``grand_mean``, which removes the ridge between the intercept and the few
  levels of a small factor. This is exact, not an approximation: for iid
  ``N(0, sigma_f**2)`` effects the deviations from their mean are ``ZeroSumNormal(sigma_f)``
  and independent of the mean, so giving ``grand_mean`` the prior
  ``N(m0, s0**2 + sum_f sigma_f**2 / J_f)`` (J_f levels) leaves the model unchanged. The
  population intercept is recovered after sampling by drawing the effects' means from
  their conditional distribution (:func:`population_intercept`).
- Each factor is partially centred (Papaspiliopoulos, Roberts and Skold 2007; the
  "variationally inferred parametrisation" of Gorinova et al. 2020):
  ``effect = sigma**(1 - w) * raw`` with ``raw ~ ZeroSumNormal(sigma**w)``, where
  ``w = s**2 I / (1 + s**2 I)`` from a pilot SD ``s`` and the information ``I`` a level
  carries; ``w = 1`` is centred (a persona seen thousands of times), ``w = 0``
  non-centred (a level seen once). For a gaussian model this choice makes the level
  effects and the SD nearly independent in the posterior.

Priors (weakly informative on the variance scale; ``scale`` is 1 on the logit scale and
the outcome's SD for the gaussian family):

- each factor SD: ``HalfStudentT(nu=3, sigma=scale)``;
- residual SD (gaussian): ``HalfStudentT(nu=3, sigma=scale)``;
- intercept: ``Normal(0, 2.5)`` on the logit scale, ``Normal(mean(y), 2.5 * sd(y))``
  for the gaussian family;
- cutpoints (ordered): ``Normal(0, 5)``, ordered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from study.errors import ConfigError
from study.variance.design import Cells
from study.variance.families import Family


@dataclass(frozen=True)
class Priors:
    """Prior settings; ``None`` picks the family's default described in the module doc.

    >>> Priors().sd_nu
    3.0
    """

    sd_scale: float | None = None
    sd_nu: float = 3.0
    intercept_sd: float | None = None

    def resolved(self, family: Family, cells: Cells) -> tuple[float, float, float]:
        """(sd scale, intercept mean, intercept SD) for these data."""
        scale = self.sd_scale if self.sd_scale is not None else family.prior_scale(cells)
        if scale <= 0:
            raise ConfigError(f"prior sd_scale must be positive, got {scale}")
        if family.name == "gaussian":
            stats = cells.stats
            centre = float(np.sum(stats["n"] * stats["mean"]) / np.sum(stats["n"]))
            spread = self.intercept_sd if self.intercept_sd is not None else 2.5 * scale
        else:
            centre, spread = 0.0, self.intercept_sd if self.intercept_sd is not None else 2.5
        return scale, centre, spread


@dataclass(frozen=True)
class Layout:
    """How the model was built: what post-processing and reporting need to know."""

    factors: tuple[str, ...]
    levels: tuple[int, ...]
    centring: tuple[float, ...]
    scale: float
    intercept_mean: float
    intercept_sd: float
    stored_effects: tuple[str, ...]
    margin_centred: tuple[str, ...] = ()
    # The family's per-design statistics its moments need (ordered: category scores).
    constants: dict[str, np.ndarray] = field(default_factory=dict)

    def effect_name(self, factor: str) -> str:
        return f"effect_{factor}"


def pilot_centring(
    cells: Cells, family: Family, factors: tuple[str, ...], scale: float
) -> dict[str, float]:
    """Centring weight per factor from a one-sweep moment estimate of each SD.

    When the level means spread clearly more than their noise, the SD used is at least a
    quarter of the prior ``scale``: with a handful of levels the moment estimate is often
    near zero by chance, while the posterior still spans plausible SDs, over which a level
    seen thousands of times is pinned down by its data (centred). When they do not, the
    posterior has mass near zero, and the moment estimate itself is used (usually: non
    centred). The pilot only steers the parametrisation; any value gives the same
    posterior.
    """
    z, info = family.pilot(cells)
    residual = z - np.sum(info * z) / np.sum(info)
    order = sorted(factors, key=lambda f: (f.count(":"), len(cells.level_labels[f])))
    weights: dict[str, float] = {}
    for factor in order:
        index = cells.level_index[factor]
        level_info = np.bincount(index, weights=info)
        level_mean = np.bincount(index, weights=info * residual) / level_info
        noise = float(np.mean(1.0 / level_info))
        spread = float(np.var(level_mean))
        variance = max(spread - noise, 1e-4)
        shrink = variance / (variance + 1.0 / level_info)
        residual = residual - (shrink * level_mean)[index]
        # No clear evidence of any variance (the level means spread no more than twice
        # their noise; under a zero SD that happens 96% of the time with 5 levels): the
        # posterior has mass near zero, where a centred factor is a funnel.
        evident = spread > NO_EVIDENCE * noise
        plausible = max(variance, (PLAUSIBLE_FRACTION * scale) ** 2) if evident else variance
        signal = plausible * float(np.median(level_info))
        weights[factor] = centring_weight(signal / (1.0 + signal), level_info.size)
    return {f: weights[f] for f in factors}


def centring_weight(shrinkage: float, n_levels: int) -> float:
    """Centring weight from a factor's pilot shrinkage (data share of a level's precision).

    Partial centring pays only while the SD stays well away from zero in the posterior
    (many levels, each informative: ``n_levels * shrinkage**2`` large); near zero any
    weight above 0 brings back the funnel. Otherwise choose an end: centred only when the
    data pin each level down (a persona seen thousands of times), else non-centred, which
    is the safe choice when the SD may be near zero.

    >>> centring_weight(0.68, 1000), centring_weight(0.99, 5), centring_weight(0.54, 60)
    (0.68, 1.0, 0.0)
    """
    if n_levels * shrinkage**2 >= WELL_IDENTIFIED:
        return round(shrinkage, 2)
    return 1.0 if shrinkage >= CENTRED else 0.0


# Levels x squared shrinkage above which a factor's SD is treated as well identified.
WELL_IDENTIFIED = 50.0
# Shrinkage above which a poorly identified factor is still centred.
CENTRED = 0.8
# The smallest SD, as a fraction of the prior scale, the pilot assumes (when the level
# means show any variance at all).
PLAUSIBLE_FRACTION = 0.25
# Level means spreading less than this multiple of their noise variance show no variance.
NO_EVIDENCE = 2.0


def margin_pairs(cells: Cells, factors: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Two-way interactions ``a:b`` whose main effects ``a`` and ``b`` are both factors and
    whose levels fill the whole a x b grid: these are margin-centred (see below)."""
    pairs: dict[str, tuple[str, str]] = {}
    for factor in factors:
        parts = factor.split(":")
        if len(parts) != 2 or parts[0] not in factors or parts[1] not in factors:
            continue
        rows, cols = (len(cells.level_labels[p]) for p in parts)
        if len(cells.level_labels[factor]) == rows * cols:
            pairs[factor] = (parts[0], parts[1])
    return pairs


def build_model(
    cells: Cells,
    family: Family,
    factors: tuple[str, ...],
    priors: Priors,
    centring: dict[str, float],
    max_stored_levels: int,
) -> tuple[pm.Model, Layout]:
    """The PyMC model; data enter as ``pm.Data`` so a compiled model can be reused.

    Margin-centring of a complete two-way interaction ``a:b`` (exact, like the zero-sum
    step): iid ``N(0, s**2)`` interaction effects split into their row means, column
    means and a doubly-centred rest, all independent; the rest is a ``ZeroSumNormal``
    over both axes, and the row (column) means join factor a's (b's) effects, whose
    scale becomes ``sqrt(sigma_a**2 + s**2 / J_b)``. The likelihood then no longer ties
    each person's effect to their interaction effects, and NUTS takes fewer steps. The
    stored ``effect_a`` is then a's marginal effect over the observed levels of b.
    """
    scale, intercept_mean, intercept_sd = priors.resolved(family, cells)
    levels = tuple(len(cells.level_labels[f]) for f in factors)
    stored = tuple(f for f, n in zip(factors, levels, strict=True) if n <= max_stored_levels)
    pairs = margin_pairs(cells, factors)
    coords: dict[str, list[Any]] = {"factor": list(factors)}
    coords |= {f: cells.level_labels[f] for f in factors}
    coords["cell"] = list(range(cells.n_cells))
    if "scores" in cells.stats:
        coords["category"] = [f"{score:g}" for score in cells.stats["scores"]]
    with pm.Model(coords=coords) as model:
        data = {k: pm.Data(f"stat_{k}", v) for k, v in cells.stats.items()}
        scale_data = pm.Data("prior_scale", float(scale))
        weights = pm.Data("centring", np.array([centring[f] for f in factors]))
        sigma = pm.HalfStudentT("sigma", nu=priors.sd_nu, sigma=scale_data, dims="factor")
        family_params = family.add_parameters(cells, scale_data)
        eta = pt.zeros(cells.n_cells)
        if family.has_intercept:
            # The intercept prior depends on the data (gaussian): model data, not constants,
            # so that new data of the same design reuse the compiled model.
            prior_mean = pm.Data("intercept_prior_mean", float(intercept_mean))
            prior_sd = pm.Data("intercept_prior_sd", float(intercept_sd))
            mean_spread = pt.sqrt(prior_sd**2 + pt.sum(sigma**2 / np.array(levels)))
            eta = eta + pm.Normal("grand_mean", mu=prior_mean, sigma=mean_spread)
        variance = {f: sigma[i] ** 2 for i, f in enumerate(factors)}
        for interaction, (row, col) in pairs.items():
            i = factors.index(interaction)
            variance[row] = variance[row] + sigma[i] ** 2 / len(cells.level_labels[col])
            variance[col] = variance[col] + sigma[i] ** 2 / len(cells.level_labels[row])
        for position, factor in enumerate(factors):
            sd, weight = pt.sqrt(variance[factor]), weights[position]
            if factor in pairs:
                shape = tuple(len(cells.level_labels[p]) for p in pairs[factor])
                raw = pm.ZeroSumNormal(
                    f"raw_{factor}", sigma=sd**weight, shape=shape, n_zerosum_axes=2
                ).reshape((-1,))
            else:
                raw = pm.ZeroSumNormal(f"raw_{factor}", sigma=sd**weight, dims=factor)
            effect = raw * sd ** (1.0 - weight)
            if factor in stored:
                effect = pm.Deterministic(f"effect_{factor}", effect, dims=factor)
            eta = eta + effect[cells.level_index[factor]]
        family.add_likelihood(eta, data, family_params, cells)
    layout = Layout(
        factors=factors,
        levels=levels,
        centring=tuple(centring[f] for f in factors),
        scale=float(scale),
        intercept_mean=intercept_mean,
        intercept_sd=intercept_sd,
        stored_effects=stored,
        margin_centred=tuple(pairs),
        constants={name: cells.stats[name] for name in family.constants},
    )
    return model, layout


def population_intercept(
    grand_mean: np.ndarray,
    sds: np.ndarray,
    levels: tuple[int, ...],
    prior: tuple[float, float],
    rng: np.random.Generator,
) -> np.ndarray:
    """The population intercept per draw, given ``grand_mean`` and the factor SDs.

    ``grand_mean = intercept + sum_f mean_f`` with ``intercept ~ N(prior)`` (mean, SD)
    and the effects' sample means ``mean_f ~ N(0, sigma_f**2 / J_f)`` (``levels`` J_f),
    all independent a priori; the data inform only their sum, so each draw of the means
    comes from their Gaussian distribution conditional on ``grand_mean`` (exact
    conditioning by kriging).

    >>> rng = np.random.default_rng(0)
    >>> draws = population_intercept(np.full(20000, 1.0), np.full((20000, 1), 1.0), (4,),
    ...                              (0.0, 1.0), rng)
    >>> round(float(draws.mean()), 1), round(float(draws.std()), 2)  # N(0.8, 0.2)
    (0.8, 0.45)
    """
    prior_mean, prior_sd = prior
    mean_var = sds**2 / np.array(levels)[None, :]
    free = rng.normal(size=mean_var.shape) * np.sqrt(mean_var)
    free_intercept = rng.normal(size=grand_mean.shape) * prior_sd
    total_var = prior_sd**2 + mean_var.sum(axis=1)
    gap = (grand_mean - prior_mean) - (free_intercept + free.sum(axis=1))
    means = free + mean_var * (gap / total_var)[:, None]
    return grand_mean - means.sum(axis=1)


def population_cutpoints(
    cutpoints: np.ndarray, sds: np.ndarray, layout: Layout, rng: np.random.Generator
) -> np.ndarray:
    """Population cutpoints: the sampled ones shifted back by the effects' sample means.

    With the cutpoints' wide prior the data say nothing about the means, so they are drawn
    from their prior ``N(0, sigma_f**2 / J_f)``.
    """
    mean_var = sds**2 / np.array(layout.levels)[None, :]
    shift = (rng.normal(size=mean_var.shape) * np.sqrt(mean_var)).sum(axis=1)
    return cutpoints + shift[:, None]


__all__ = [
    "Layout",
    "Priors",
    "build_model",
    "pilot_centring",
    "population_cutpoints",
    "population_intercept",
]
