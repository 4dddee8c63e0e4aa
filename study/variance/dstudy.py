"""D-study (generalizability theory): how many runs, persons, personas buy a precision.

For a target factor t (the object of measurement, e.g. ``persona``) and a design with
``n_f`` levels of every other factor column and ``n_run`` runs per cell, the error of one
level's mean relative to another's (Brennan 2001, crossed random facets) is

    delta = sum over components c that contain t and other columns:
                sigma_c**2 / prod(n_f for f in c other than t)
            + error / (prod(n_f for every column but t) * n_run)

where ``error`` is the run-level variance on the latent scale: ``sigma_residual**2`` for
the gaussian family, ``1 / E[information about eta per observation]`` for the logistic
ones (the variance of one run's contribution to a logit-scale mean). Components without
t (person, item main effects) cancel when levels of t are compared on the same design.

Reported per design: the standard error of a difference between two levels of t
(``sqrt(2 delta)``), the generalizability coefficient ``sigma_t**2 / (sigma_t**2 +
delta)``, and the relative standard error of the estimate of ``sigma_t**2`` itself with
``n_t`` levels, ``sqrt(2 / (n_t - 1)) * (sigma_t**2 + delta) / sigma_t**2`` (its mean
square's sampling error; more personas, not more runs, shrink it).

>>> import numpy as np
>>> table = d_study({"persona": ("persona",), "person:persona": ("person", "persona")},
...                 {"persona": np.full(10, 1.0), "person:persona": np.full(10, 0.5)},
...                 np.full(10, 2.0), target="persona",
...                 sizes={"person": [10], "persona": [5], "run": [1, 4]})
>>> table[["run", "se_difference"]].round(3).values.tolist()
[[1.0, 0.707], [4.0, 0.447]]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from study.errors import ConfigError
from study.variance.tables import summarise_draws

RUN = "run"


def d_study(
    components: Mapping[str, tuple[str, ...]],
    variances: Mapping[str, np.ndarray],
    error_variance: np.ndarray,
    *,
    target: str,
    sizes: Mapping[str, Sequence[int]],
    prob: float = 0.94,
    target_se: float | None = None,
) -> pd.DataFrame:
    """The D-study table over the grid of ``sizes`` (one list per column, plus ``run``)."""
    if (target,) not in components.values():
        raise ConfigError(f"D-study target {target!r} is not a main-effect factor of the fit")
    target_name = next(name for name, cols in components.items() if cols == (target,))
    columns = sorted({c for cols in components.values() for c in cols})
    missing = [c for c in [*columns, RUN] if c not in sizes]
    if missing:
        raise ConfigError(f"D-study sizes missing for {missing}")
    grid_names = [*columns, RUN]
    rows = []
    for combo in itertools.product(*(sizes[name] for name in grid_names)):
        n = dict(zip(grid_names, (int(v) for v in combo), strict=True))
        delta = np.zeros_like(error_variance)
        for name, cols in components.items():
            if target in cols and cols != (target,):
                delta = delta + variances[name] / np.prod([n[c] for c in cols if c != target])
        others = np.prod([n[c] for c in columns if c != target])
        delta = delta + error_variance / (others * n[RUN])
        signal = variances[target_name]
        row: dict[str, float] = {name: float(n[name]) for name in grid_names}
        row |= summarise_draws(np.sqrt(2.0 * delta), prob, "eti", "se_difference")
        row |= summarise_draws(signal / (signal + delta), prob, "eti", "g_coefficient")
        levels = n[target]
        rel = np.sqrt(2.0 / max(levels - 1, 1)) * (signal + delta) / np.maximum(signal, 1e-300)
        row["variance_rel_se"] = float(np.median(rel))
        rows.append(row)
    table = pd.DataFrame(rows)
    if target_se is not None:
        table["meets_target"] = table["se_difference"] <= target_se
    return table
