"""Saving and loading variance fits: one output contract wherever a fit runs, and the
only module of the package that writes or reads fit files.

A V1 fit is written by :func:`save_fit` alone, from the pipeline's V1 step and from
``stage=variance`` alike, so both give the same file names: tables (CSV), the posterior
as netCDF-4 (``posterior.nc``), C1 as JSON, the D-study, plots. A V2 (individuation) fit
is written by :func:`save_individuation`: benefit.csv, diagnostics.csv, posterior.nc,
notes.json and benefit.png.

``posterior.nc`` holds the ``posterior`` and ``sample_stats`` groups (the fit's own
``observed_data``, ``constant_data`` and ``log_likelihood`` stay in memory: the
log-likelihood has one value per draw and cell, often the largest group by far); pass
``groups=`` to :func:`save_tree` to write others.

The posterior is a real netCDF-4 file (HDF5 through h5netcdf, groups for the ArviZ
DataTree): ``xarray.open_datatree(path)`` and ``arviz.from_netcdf(path)`` both open it,
as does any netCDF reader. Attributes that change from run to run (creation time,
sampling time, library versions) are dropped, so the same posterior gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from numbers import Number
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:  # types only: the results' save() methods import this module
    from study.variance.individuation import IndividuationResult
    from study.variance.result import C1Statement, VarianceResult

COMPONENTS = "components.csv"
DIAGNOSTICS = "diagnostics.csv"
REML = "reml.csv"
POSTERIOR = "posterior.nc"
C1 = "c1.json"
D_STUDY = "d_study.csv"
SHARES_PLOT = "shares.png"
COMPONENTS_PLOT = "components.png"
BENEFIT = "benefit.csv"
NOTES = "notes.json"
BENEFIT_PLOT = "benefit.png"
# The groups a saved fit's posterior.nc holds.
SAVED_GROUPS = ("posterior", "sample_stats")

# The netCDF engine: h5netcdf writes netCDF-4 (HDF5) with groups, which a DataTree needs
# (netCDF-3 has none); it is a declared dependency, the netCDF4 C library is not.
ENGINE: Literal["h5netcdf"] = "h5netcdf"
_VOLATILE_ATTRS = {"created_at", "sampling_time", "arviz_version", "inference_library_version"}


def save_fit(
    result: VarianceResult,
    path_for: Callable[[str], Path],
    persona: str = "persona",
    d_study_runs: list[int] | None = None,
) -> list[str]:
    """Write a V1 fit through ``path_for(name)``; return the names written, in order.

    Always: components.csv, diagnostics.csv, posterior.nc, shares.png, components.png;
    reml.csv for a gaussian fit; c1.json and d_study.csv when ``persona`` is a main-effect
    factor of the fit (``d_study_runs``: the numbers of runs of the D-study table).
    """
    # Local: plots import matplotlib, and the plots module imports this package's result.
    from study.variance.plots import plot_components, plot_shares

    written = [COMPONENTS, DIAGNOSTICS, POSTERIOR, SHARES_PLOT, COMPONENTS_PLOT]
    result.components.to_csv(path_for(COMPONENTS), index=False, float_format="%.6g")
    result.diagnostics.to_csv(path_for(DIAGNOSTICS), index=False, float_format="%.6g")
    save_tree(reported(result.tree), path_for(POSTERIOR), groups=SAVED_GROUPS)
    plot_shares({"data scale": result}, path=path_for(SHARES_PLOT))
    plot_components(result, path=path_for(COMPONENTS_PLOT))
    if result.reml is not None:
        result.reml.to_csv(path_for(REML), index=False, float_format="%.6g")
        written.append(REML)
    if persona in result.layout.factors:
        path_for(C1).write_text(json.dumps(c1_record(result.c1(persona)), indent=2) + "\n")
        sizes = None if d_study_runs is None else {"run": d_study_runs}
        table = result.d_study(target=persona, sizes=sizes)
        table.to_csv(path_for(D_STUDY), index=False, float_format="%.6g")
        written += [C1, D_STUDY]
    return written


def reported(tree: xr.DataTree) -> xr.DataTree:
    """The tree without the raw (sampler's) level effects, which a fit keeps in memory for
    its log-likelihood and posterior predictive draws but does not report."""
    posterior = tree["posterior"].to_dataset()
    raw = [name for name in posterior.data_vars if str(name).startswith("raw_")]
    if not raw:
        return tree
    kept = posterior.drop_vars(raw)
    used = {str(d) for variable in kept.data_vars.values() for d in variable.dims}
    orphans = {str(d) for name in raw for d in posterior[name].dims} - used
    copy = tree.copy()
    copy["posterior"] = xr.DataTree(kept.drop_dims(sorted(orphans)))
    return copy


def save_individuation(
    result: IndividuationResult, path_for: Callable[[str], Path], plots: bool = True
) -> list[str]:
    """Write a V2 fit through ``path_for(name)``: benefit.csv, diagnostics.csv,
    posterior.nc, notes.json (experiments left out of a contrast, and retries) and, with
    ``plots``, benefit.png; return the names written, in order."""
    written = [BENEFIT, DIAGNOSTICS, POSTERIOR, NOTES]
    result.table.to_csv(path_for(BENEFIT), index=False)
    result.diagnostics.to_csv(path_for(DIAGNOSTICS), index=False)
    save_tree(result.tree, path_for(POSTERIOR), groups=SAVED_GROUPS)
    path_for(NOTES).write_text(json.dumps(result.notes, indent=2))
    if plots:
        from study.variance.plots import plot_benefit  # matplotlib loads on first use

        plot_benefit(result, path=path_for(BENEFIT_PLOT))
        written.append(BENEFIT_PLOT)
    return written


def load_table(path: str | Path) -> pd.DataFrame:
    """A table written by :func:`save_fit` or :func:`save_individuation`."""
    return pd.read_csv(Path(path))


def c1_record(c1: C1Statement) -> dict[str, Any]:
    """C1 as plain data: the statement's fields, ``holds`` and the sentence itself."""
    return {**asdict(c1), "holds": c1.holds, "statement": str(c1)}


def save_tree(tree: xr.DataTree, path: str | Path, groups: tuple[str, ...] | None = None) -> None:
    """Save a DataTree (only its ``groups``, when given) as a netCDF-4 file,
    byte-identical for the same posterior."""
    nodes = [
        node
        for node in tree.subtree
        if groups is None or node is tree or node.path.strip("/").split("/")[0] in groups
    ]
    clean = xr.DataTree.from_dict({node.path: _netcdf_dataset(node.to_dataset()) for node in nodes})
    clean.to_netcdf(Path(path), engine=ENGINE, mode="w")


def load_tree(path: str | Path) -> xr.DataTree:
    """Open a DataTree written by :func:`save_tree`, loaded into memory (the file is
    closed on return)."""
    with xr.open_datatree(Path(path), engine=ENGINE) as tree:
        return tree.load()


def _netcdf_dataset(dataset: xr.Dataset) -> xr.Dataset:
    """A copy netCDF holds faithfully: text arrays with None (nutpie's divergence
    messages) get "" for None, as netCDF has no None and an all-None array would come
    back as floats; attributes as :func:`_netcdf_attrs`."""
    texts = {
        name: variable.copy(data=np.vectorize(_text, otypes=[str])(variable.values))
        for name, variable in dataset.data_vars.items()
        if variable.dtype == object
    }
    clean = dataset.assign(texts)
    clean.attrs = _netcdf_attrs(dataset.attrs)
    for name in clean.variables:
        clean[name].attrs = _netcdf_attrs(dataset[name].attrs)
    return clean


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _netcdf_attrs(attrs: dict[Any, Any]) -> dict[str, Any]:
    """Attributes netCDF can hold: strings, numbers and flat lists of them; booleans as
    0/1, anything else as JSON text. Run-specific attributes are dropped."""
    clean: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in _VOLATILE_ATTRS or value is None:
            continue
        clean[str(key)] = _netcdf_value(value)
    return clean


def _netcdf_value(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str | Number | np.number):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return list(value)
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, Number) and not isinstance(v, bool) for v in value)
    ):
        return np.asarray(value)
    try:
        return json.dumps(value, sort_keys=True)
    except TypeError:
        return str(value)
