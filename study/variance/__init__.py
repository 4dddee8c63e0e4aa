"""Variance models: how much of an outcome's variance is person, persona, item or run?

The public API (nothing here knows about Psych-201 or language models):

- :class:`VarianceModel` (V1): crossed/nested random intercepts on any pandas or polars
  frame, by formula or factor list; gaussian, bernoulli, binomial and ordered families;
  ``.model`` is the PyMC model, ``print()`` lists every term and prior, ``.fit()``
  returns a :class:`VarianceResult` (ArviZ DataTree with ``log_likelihood``, components
  and diagnostics tables, C1 statement, D-study, REML cross-check for gaussian data).
- :func:`fit`: the one-call shortcut (build the model and fit it).
- :func:`compare_shares` compares any two components' shares (C1 is the study's
  wording of it: ``VarianceResult.c1``).
- :func:`save_fit` writes a V1 fit's files (the posterior as netCDF); :func:`save_tree`
  and :func:`load_tree` write and read any DataTree as netCDF.
- :func:`individuation` and :func:`cohens_d_table` (V2): profile and person-specific
  benefit on per-choice NLL, and the Psych-201 paper's per-experiment Cohen's d.
- :func:`simulate` and :func:`simulate_individuation`: data with known truth.
- plots: :func:`plot_shares`, :func:`plot_components`, :func:`plot_benefit` (imported on
  first use, so that ``import study.variance`` does not load matplotlib).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads them
    from study.variance.fit import fit
    from study.variance.individuation import (
        Columns,
        IndividuationResult,
        cohens_d_table,
        individuation,
    )
    from study.variance.model import Priors
    from study.variance.outputs import load_tree, save_fit, save_individuation, save_tree
    from study.variance.plots import plot_benefit, plot_components, plot_shares
    from study.variance.result import C1Statement, ShareComparison, VarianceResult, compare_shares
    from study.variance.simulate import Simulation, simulate, simulate_individuation
    from study.variance.variance_model import DiagnosticsWarning, VarianceModel

# Public name -> the module that defines it. Imported on first use: the command line
# imports study.variance.config for every stage, and PyMC takes seconds to load.
_EXPORTS = {
    "DiagnosticsWarning": "variance_model",
    "VarianceModel": "variance_model",
    "fit": "fit",
    "Columns": "individuation",
    "IndividuationResult": "individuation",
    "cohens_d_table": "individuation",
    "individuation": "individuation",
    "Priors": "model",
    "C1Statement": "result",
    "ShareComparison": "result",
    "compare_shares": "result",
    "VarianceResult": "result",
    "load_tree": "outputs",
    "save_individuation": "outputs",
    "save_fit": "outputs",
    "save_tree": "outputs",
    "Simulation": "simulate",
    "simulate": "simulate",
    "simulate_individuation": "simulate",
    "plot_shares": "plots",
    "plot_components": "plots",
    "plot_benefit": "plots",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'study.variance' has no attribute {name!r}")
    value = getattr(import_module(f"study.variance.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "C1Statement",
    "Columns",
    "DiagnosticsWarning",
    "IndividuationResult",
    "Priors",
    "ShareComparison",
    "Simulation",
    "VarianceModel",
    "VarianceResult",
    "cohens_d_table",
    "compare_shares",
    "fit",
    "individuation",
    "load_tree",
    "plot_benefit",
    "plot_components",
    "plot_shares",
    "save_fit",
    "save_individuation",
    "save_tree",
    "simulate",
    "simulate_individuation",
]
