"""Variance models: how much of an outcome's variance is person, persona, item or run?

The public API (nothing here knows about Psych-201 or language models):

- :func:`fit` (V1): crossed/nested random intercepts on any pandas or polars frame, by
  formula or factor list; gaussian, bernoulli, binomial and ordered families; returns a
  :class:`VarianceResult` (ArviZ DataTree, components and diagnostics tables, C1
  statement, D-study, REML cross-check for gaussian data).
- :func:`individuation` and :func:`cohens_d_table` (V2): profile and person-specific
  benefit on per-choice NLL, and the Psych-201 paper's per-experiment Cohen's d.
- :func:`simulate`: data with known components, for checks and the pipeline.
- plots: :func:`plot_shares`, :func:`plot_components`, :func:`plot_benefit`.
"""

from study.variance.fit import DiagnosticsWarning, fit
from study.variance.model import Priors
from study.variance.result import C1Statement, VarianceResult, load_tree, save_tree
from study.variance.simulate import Simulation, simulate

__all__ = [
    "C1Statement",
    "DiagnosticsWarning",
    "Priors",
    "Simulation",
    "VarianceResult",
    "fit",
    "load_tree",
    "save_tree",
    "simulate",
]
