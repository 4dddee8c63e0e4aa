"""The ArviZ groups beside the posterior: ``observed_data``, ``constant_data`` and
``log_likelihood``, so that ``arviz.loo``, ``arviz.compare`` and posterior predictive
checks work on a fit.

Everything is per cell (dimension ``cell``: one unique combination of factor levels,
labelled by non-dimension coordinates named after the factor columns): the observed
variable holds the cell's sufficient statistic (successes, mean, category counts) and
``log_likelihood`` the sum of the log-likelihoods of the cell's rows (see
:mod:`study.variance.families`). LOO therefore leaves out one cell, all its replicate
rows, at a time: it estimates how well the model predicts a new cell of the design.

The log-likelihood needs every level effect of every draw; for large designs (more than
:data:`LOG_LIKELIHOOD_LIMIT` draws x cells) it is left out unless asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pymc as pm
import xarray as xr

from study.variance.design import Cells
from study.variance.families import Family

# Draws x cells above which the log-likelihood is computed only on request (8 bytes
# each: 160 MB).
LOG_LIKELIHOOD_LIMIT = 20_000_000
_RESERVED = {"cell", "category", "chain", "draw"}


def wants_log_likelihood(requested: bool | None, n_draws: int, cells: Cells) -> bool:
    """Whether to compute the log-likelihood: as requested, else when it is small.

    >>> from study.variance.design import Cells
    >>> cells = Cells(1, {}, {}, np.ones(1000, dtype=int))
    >>> wants_log_likelihood(None, 4000, cells), wants_log_likelihood(None, 40000, cells)
    (True, False)
    """
    if requested is not None:
        return requested
    return n_draws * cells.n_cells <= LOG_LIKELIHOOD_LIMIT


def _cell_coords(cells: Cells) -> dict[str, tuple[str, np.ndarray]]:
    coords = {
        column: ("cell", np.asarray(values, dtype=str))
        for column, values in cells.cell_columns.items()
        if column not in _RESERVED
    }
    return {"cell": ("cell", np.arange(cells.n_cells)), **coords}  # type: ignore[dict-item]


def _dims(model: pm.Model, name: str, value: np.ndarray, cells: Cells) -> tuple[str, ...]:
    declared = model.named_vars_to_dims.get(name)
    if declared:
        return tuple(str(d) for d in declared)
    if value.ndim == 0:
        return ()
    if value.shape[0] == cells.n_cells and name.startswith("stat_"):
        return ("cell", *(f"{name}_dim_{k}" for k in range(1, value.ndim)))
    if name == "stat_scores":
        return ("category",)
    if name == "centring":
        return ("factor",)
    return tuple(f"{name}_dim_{k}" for k in range(value.ndim))


def data_groups(model: pm.Model, cells: Cells, family: Family) -> dict[str, xr.Dataset]:
    """``observed_data`` (the observed variable) and ``constant_data`` (the other model
    data: cell statistics and prior settings), labelled by cell."""
    coords = _cell_coords(cells)
    if "category" in model.coords:
        coords["category"] = ("category", np.asarray(model.coords["category"]))
    observed = family.observed
    values = {v.name: np.asarray(v.get_value()) for v in model.data_vars}
    observed_name = f"stat_{family.observed_stat}"
    observed_value = values[observed_name]
    observed_dims = tuple(str(d) for d in model.named_vars_to_dims[observed])
    observed_data = xr.Dataset({observed: (observed_dims, observed_value)})
    constant = {
        name: (_dims(model, name, value, cells), value)
        for name, value in sorted(values.items())
        if name != observed_name
    }
    constant_data = xr.Dataset(constant)

    def labelled(dataset: xr.Dataset) -> xr.Dataset:
        return dataset.assign_coords({k: v for k, v in coords.items() if v[0] in dataset.dims})

    return {"observed_data": labelled(observed_data), "constant_data": labelled(constant_data)}


def cell_log_likelihood(
    tree: xr.DataTree, model: pm.Model, cells: Cells, observed: Sequence[str]
) -> xr.Dataset:
    """Per draw and cell log-likelihood of ``observed`` (the posterior must hold every
    free variable of ``model``)."""
    # PyMC copies the model's graph for this, which it refuses to do while start values
    # are set (the ordered cutpoints have some); they play no part in the likelihood.
    start_values = dict(model.rvs_to_initial_values)
    model.rvs_to_initial_values = dict.fromkeys(start_values)
    try:
        computed = pm.compute_log_likelihood(
            tree,
            var_names=list(observed),
            model=model,
            extend_inferencedata=False,
            progressbar=False,
        )
    finally:
        model.rvs_to_initial_values = start_values
    # With extend_inferencedata=False PyMC returns the log-likelihood as a Dataset.
    dataset = computed if isinstance(computed, xr.Dataset) else computed.to_dataset()
    coords = _cell_coords(cells)
    return dataset.assign_coords({k: v for k, v in coords.items() if v[0] in dataset.dims})


def attach(tree: xr.DataTree, groups: dict[str, xr.Dataset]) -> xr.DataTree:
    """``tree`` with ``groups`` added."""
    for name, dataset in groups.items():
        tree[name] = xr.DataTree(dataset)
    return tree
