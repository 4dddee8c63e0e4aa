"""The diagnostics gate: R-hat <= 1.01, bulk ESS >= 400, no divergent transitions.

The gate covers every reported quantity (component SDs and variances, shares on both
scales, intercept or cutpoints). Level effects (one per person, persona, ...) are listed
with their worst R-hat and smallest ESS for information, not gated: with thousands of
them, a chance R-hat of 1.011 somewhere says little about the components.

>>> GATE
{'r_hat': 1.01, 'ess_bulk': 400, 'divergences': 0}
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

GATE = {"r_hat": 1.01, "ess_bulk": 400, "divergences": 0}
DIVERGENCES_ROW = "divergent transitions"


def _labels(name: str, array: xr.DataArray) -> list[str]:
    dims = [d for d in array.dims]
    if not dims:
        return [name]
    index = pd.MultiIndex.from_product([array[d].values for d in dims])
    return [f"{name}[{', '.join(map(str, key))}]" for key in index]


def diagnostics_table(
    posterior: xr.Dataset,
    gated: Sequence[str],
    informational: Sequence[str],
    divergences: int,
) -> pd.DataFrame:
    """One row per gated scalar, one summary row per informational variable, one for
    divergences; ``passed`` says whether each meets the gate."""
    names = [*gated, *informational]
    subset = posterior[names]
    with warnings.catch_warnings():
        # A constant quantity (the logistic residual) divides zero by zero; it is handled
        # below as constant.
        warnings.simplefilter("ignore", RuntimeWarning)
        r_hat = az.rhat(subset)
        ess_bulk = az.ess(subset, method="bulk")
        ess_tail = az.ess(subset, method="tail")
    spread = subset.std(dim=("chain", "draw"))
    level = abs(subset.mean(dim=("chain", "draw"))) + 1.0
    rows = []
    for name in names:
        r, b, t = (np.atleast_1d(ds[name].values).ravel() for ds in (r_hat, ess_bulk, ess_tail))
        # A fixed quantity (the logistic residual's pi^2/3) has no R-hat to speak of.
        constant = np.atleast_1d((spread[name] <= 1e-12 * level[name]).values).ravel()
        ok = constant | ((r <= GATE["r_hat"]) & (b >= GATE["ess_bulk"]))
        if name in gated:
            for label, ri, bi, ti, oki in zip(_labels(name, r_hat[name]), r, b, t, ok, strict=True):
                rows.append((label, ri, bi, ti, np.nan, True, bool(oki)))
        else:
            worst = f"{name} (worst of {r.size})"
            rows.append(
                (worst, np.nanmax(r), np.nanmin(b), np.nanmin(t), np.nan, False, bool(ok.all()))
            )
    rows.append(
        (
            DIVERGENCES_ROW,
            np.nan,
            np.nan,
            np.nan,
            float(divergences),
            True,
            divergences <= GATE["divergences"],
        )
    )
    return pd.DataFrame(
        rows,
        columns=["parameter", "r_hat", "ess_bulk", "ess_tail", "divergences", "gated", "passed"],
    )


def count_divergences(tree: xr.DataTree) -> int:
    stats = tree["sample_stats"]
    return int(np.asarray(stats["diverging"].values).sum())


def gate_passed(table: pd.DataFrame) -> bool:
    """True when every gated row passed."""
    return bool(table.loc[table["gated"], "passed"].all())


def failed_rows(table: pd.DataFrame) -> list[str]:
    return table.loc[table["gated"] & ~table["passed"], "parameter"].tolist()
