"""Frequentist cross-check for gaussian models: statsmodels REML variance components.

Crossed random intercepts are fitted as variance components of a single group
(``MixedLM`` with ``vc_formula``), the standard statsmodels spelling of crossed designs.
Its dense design matrix grows as rows x levels, so very large designs are skipped.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl
import statsmodels.formula.api as smf

from study.variance.spec import ModelSpec

# Rows x levels above which the dense REML design is too large to build here.
MAX_DESIGN_ENTRIES = 20_000_000


def reml_components(frame: pl.DataFrame, spec: ModelSpec, residual: str) -> pd.DataFrame | None:
    """REML variance per component and for the residual, or None when too large.

    Returns columns ``component`` and ``reml_variance``.
    """
    levels = 0
    columns: dict[str, np.ndarray] = {"y": frame[spec.outcome].cast(pl.Float64).to_numpy()}
    text = {c: frame[c].cast(pl.String).to_numpy() for c in spec.columns}
    for position, component in enumerate(spec.components):
        labels = text[component.columns[0]]
        for column in component.columns[1:]:
            labels = np.char.add(np.char.add(labels.astype(str), "\x1f"), text[column].astype(str))
        columns[f"g{position}"] = labels
        levels += len(np.unique(labels))
    if frame.height * levels > MAX_DESIGN_ENTRIES:
        return None
    data = pd.DataFrame(columns)
    data["one"] = 1
    vc = {f"g{i}": f"0 + C(g{i})" for i in range(len(spec.components))}
    model = smf.mixedlm("y ~ 1", data, groups="one", vc_formula=vc, re_formula="0")
    with warnings.catch_warnings():
        # Boundary fits (a component at zero) warn; the estimate is still the REML one.
        warnings.simplefilter("ignore")
        result = model.fit(reml=True, method=["lbfgs", "powell"])
    by_name = dict(zip(model.exog_vc.names, np.asarray(result.vcomp), strict=True))
    rows = [
        (component.name, float(by_name[f"g{i}"])) for i, component in enumerate(spec.components)
    ]
    rows.append((residual, float(result.scale)))
    return pd.DataFrame(rows, columns=["component", "reml_variance"])


def compare_with_bayes(reml: pd.DataFrame, components: pd.DataFrame) -> pd.DataFrame:
    """REML estimates beside the Bayesian intervals, with ``inside`` flags."""
    merged = reml.merge(
        components[["component", "variance", "variance_lower", "variance_upper"]],
        on="component",
        how="left",
    ).rename(
        columns={
            "variance": "bayes_variance",
            "variance_lower": "bayes_lower",
            "variance_upper": "bayes_upper",
        }
    )
    merged["inside"] = (merged["reml_variance"] >= merged["bayes_lower"]) & (
        merged["reml_variance"] <= merged["bayes_upper"]
    )
    return merged
