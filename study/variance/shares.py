"""Shares of variance on the latent and on the data scale.

Latent scale: component f's share is ``sigma_f**2 / (sum of all sigma**2 + residual)``,
the residual being ``sigma_residual**2`` (gaussian) or ``pi**2/3`` (logistic links); it is
also the ICC of that component.

Data scale, by the law of total variance over the population (new levels of every
factor), with ``eta = location + sum_f u_f`` and ``u_f ~ N(0, sigma_f**2)``:

- total: ``Var(y) = E[v(eta)] + Var(m(eta))``, where ``m`` and ``v`` are one
  observation's conditional mean and variance (the family's ``moments``);
- residual (the runs): ``E[v(eta)] = E[Var(y | all factors)]``;
- factor f: ``Var(E[m(eta) | u_f])`` (its first-order Sobol index, as the data-scale ICC
  of Nakagawa, Johnson and Schielzeth 2017);
- ``nonadditive``: what a nonlinear link adds beyond the factors' separate parts,
  ``Var(m) - sum_f Var(E[m | u_f])`` (zero for the gaussian family).

The shares sum to one. The expectations are Gauss-Hermite quadratures, exact for the
gaussian family and accurate to ~1e-8 for the logistic ones.

>>> import numpy as np
>>> from study.variance.families import GAUSSIAN
>>> parts = data_scale_variances(np.zeros(1), np.array([[1.0, 2.0]]), GAUSSIAN,
...                              {"sigma_residual": np.ones(1)})
>>> [round(float(parts[k][0].sum()), 6) for k in ("factors", "residual", "nonadditive")]
[5.0, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from study.variance.families import Family

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(48)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()
# Draws per chunk, so the (draws, nodes, nodes, categories) arrays stay small.
_CHUNK = 256


def latent_shares(factor_var: np.ndarray, residual_var: np.ndarray) -> np.ndarray:
    """Shares of (factors..., residual) on the latent scale; rows are draws.

    >>> latent_shares(np.array([[1.0, 3.0]]), np.array([4.0])).tolist()
    [[0.125, 0.375, 0.5]]
    """
    parts = np.column_stack([factor_var, residual_var])
    return parts / parts.sum(axis=1, keepdims=True)


def data_scale_variances(
    location: np.ndarray,
    sds: np.ndarray,
    family: Family,
    family_draws: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Data-scale variance parts per draw: ``factors`` (D, F), ``residual``, ``nonadditive``.

    ``location`` is the population intercept per draw (zeros for the ordered family, whose
    cutpoints sit in ``family_draws``); ``sds`` holds the factor SDs, one column each.
    """
    parts: dict[str, list[np.ndarray]] = {"factors": [], "residual": [], "nonadditive": []}
    for start in range(0, location.shape[0], _CHUNK):
        window = slice(start, start + _CHUNK)
        chunk = _chunk_variances(
            location[window],
            sds[window],
            family,
            # Parameters per draw are windowed; the family's constants are not.
            {k: v[window] if k in family.parameters else v for k, v in family_draws.items()},
        )
        for key in parts:
            parts[key].append(chunk[key])
    return {key: np.concatenate(value) for key, value in parts.items()}


def _chunk_variances(location, sds, family, family_draws):
    total_var = np.sum(sds**2, axis=1)
    # Marginal over all factors: eta = location + sqrt(total) * Z.
    eta = location[:, None] + np.sqrt(total_var)[:, None] * _NODES[None, :]
    mean, var = family.moments(eta, family_draws)
    expected_mean = mean @ _WEIGHTS
    var_of_mean = (mean**2) @ _WEIGHTS - expected_mean**2
    residual = var @ _WEIGHTS
    factors = np.empty_like(sds)
    for f in range(sds.shape[1]):
        rest = np.sqrt(np.maximum(total_var - sds[:, f] ** 2, 0.0))
        # eta[d, i, j] = location + u_i (factor f) + rest * z_j (all other factors).
        eta = (
            location[:, None, None]
            + sds[:, f, None, None] * _NODES[None, :, None]
            + rest[:, None, None] * _NODES[None, None, :]
        )
        conditional = family.moments(eta, family_draws)[0] @ _WEIGHTS  # E[m | u_f]
        factors[:, f] = (conditional**2) @ _WEIGHTS - (conditional @ _WEIGHTS) ** 2
    nonadditive = np.maximum(var_of_mean - factors.sum(axis=1), 0.0)
    return {"factors": factors, "residual": residual, "nonadditive": nonadditive}


def data_scale_shares(parts: Mapping[str, np.ndarray]) -> np.ndarray:
    """Shares (factors..., residual, nonadditive) per draw from :func:`data_scale_variances`."""
    stacked = np.column_stack([parts["factors"], parts["residual"], parts["nonadditive"]])
    return stacked / stacked.sum(axis=1, keepdims=True)
