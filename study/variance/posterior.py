"""Derived posterior quantities: variances, shares on both scales, population location.

They are added to the DataTree's ``posterior`` group with named dimensions
(``component`` for the latent parts, ``data_component`` for the data-scale parts, which
add ``nonadditive`` for non-gaussian families), so that
``tree.posterior["data_share"].sel(data_component="persona")`` works.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from study.variance.families import Family
from study.variance.model import Layout, population_cutpoints, population_intercept
from study.variance.shares import data_scale_shares, data_scale_variances, latent_shares

NONADDITIVE = "nonadditive"


def flat(array: xr.DataArray) -> np.ndarray:
    """(chain, draw, ...) -> (chain * draw, ...) as float64."""
    values = np.asarray(array.values, dtype=np.float64)
    return values.reshape((-1, *values.shape[2:]))


def family_draws(posterior: xr.Dataset, family: Family, layout: Layout) -> dict[str, np.ndarray]:
    """The family's parameters per draw, with its per-design constants."""
    draws = {name: flat(posterior[name]) for name in family.parameters}
    return draws | dict(layout.constants)


def population_location(
    posterior: xr.Dataset, layout: Layout, family: Family, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Population intercept (zeros for ordered) and the family draws at population level."""
    rng = np.random.default_rng([seed, 7])
    sds = flat(posterior["sigma"])
    draws = family_draws(posterior, family, layout)
    if family.has_intercept:
        location = population_intercept(
            flat(posterior["grand_mean"]),
            sds,
            layout.levels,
            (layout.intercept_mean, layout.intercept_sd),
            rng,
        )
    else:
        location = np.zeros(sds.shape[0])
        draws["cutpoints"] = population_cutpoints(draws["cutpoints"], sds, layout, rng)
    return location, draws


def add_derived(
    tree: xr.DataTree, layout: Layout, family: Family, residual: str, seed: int
) -> xr.DataTree:
    """Add ``variance``, ``latent_share``, ``data_share``, ``data_variance`` and the
    population ``intercept`` (or ``population_cutpoints``) to the posterior group."""
    posterior = tree["posterior"].to_dataset()
    shape = posterior["sigma"].shape[:2]
    sds = flat(posterior["sigma"])
    location, draws = population_location(posterior, layout, family, seed)
    residual_var = family.latent_residual_variance(draws, sds.shape[0])
    variance = np.column_stack([sds**2, residual_var])
    latent = latent_shares(sds**2, residual_var)
    parts = data_scale_variances(location, sds, family, draws)
    data_var = np.column_stack([parts["factors"], parts["residual"], parts["nonadditive"]])
    data_share = data_scale_shares(parts)
    data_components = [*layout.factors, residual]
    if family.name != "gaussian":
        data_components.append(NONADDITIVE)
    else:
        data_var, data_share = data_var[:, :-1], data_share[:, :-1]
    components = [*layout.factors, residual]

    def unflat(values: np.ndarray, dims: tuple[str, ...]) -> tuple:
        return (("chain", "draw", *dims), values.reshape(shape + values.shape[1:]))

    new = {
        "variance": unflat(variance, ("component",)),
        "latent_share": unflat(latent, ("component",)),
        "data_variance": unflat(data_var, ("data_component",)),
        "data_share": unflat(data_share, ("data_component",)),
    }
    if family.has_intercept:
        new["intercept"] = unflat(location, ())
    else:
        new["population_cutpoints"] = unflat(draws["cutpoints"], ("cutpoint",))
    derived = xr.Dataset(
        new,
        coords={
            "chain": posterior["chain"],
            "draw": posterior["draw"],
            "component": components,
            "data_component": data_components,
        },
    )
    tree["posterior"] = xr.DataTree(posterior.merge(derived))
    return tree
