"""The fused binomial-logit Op against SciPy, finite differences and itself across
backends."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.special import expit
from scipy.stats import binom

from study.variance.logit_binomial import binomial_logit, binomial_logit_terms

# From where the sigmoid underflows to where exp(-|eta|) does.
ETA = np.array([-745.0, -40.0, -20.0, -3.0, -1e-9, 0.0, 1e-9, 0.5, 3.0, 20.0, 40.0, 745.0])


def counts(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 30, size).astype(float)
    return np.floor(rng.random(size) * (n + 1)), n


def test_log_mass_equals_scipys_binomial_without_its_coefficient():
    # Where SciPy's own log-mass is accurate (it works with p and 1 - p).
    eta = np.random.default_rng(1).normal(0, 3, 500).clip(-10, 10)
    k, n = counts(eta.size)
    logp, _ = binomial_logit_terms(eta, k, n)
    coefficient = binom.logpmf(k, n, 0.5) + n * np.log(2.0)
    expected = binom.logpmf(k, n, expit(eta)) - coefficient
    np.testing.assert_allclose(logp, expected, rtol=1e-9, atol=1e-12)


def test_log_mass_stays_exact_in_absolute_terms_at_the_extremes():
    """log(1 + e) in place of log1p(e) costs relative precision only on terms below
    1e-8; the absolute error stays at double rounding."""
    k, n = counts(ETA.size, seed=5)
    logp, _ = binomial_logit_terms(ETA, k, n)
    expected = k * ETA - n * np.logaddexp(0.0, ETA)
    np.testing.assert_allclose(logp, expected, rtol=1e-15, atol=n.max() * 4.5e-16)


def test_slope_is_the_derivative_and_stays_finite_at_the_extremes():
    k, n = counts(ETA.size, seed=2)
    logp, slope = binomial_logit_terms(ETA, k, n)
    assert np.isfinite(logp).all() and np.isfinite(slope).all()
    np.testing.assert_allclose(slope, k - n * expit(ETA), rtol=1e-12, atol=1e-300)
    h = 1e-6
    inner = np.abs(ETA) < 100
    up, _ = binomial_logit_terms(ETA + h, k, n)
    down, _ = binomial_logit_terms(ETA - h, k, n)
    np.testing.assert_allclose(((up - down) / (2 * h))[inner], slope[inner], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_COMPILE"])
def test_gradient_through_pytensor_is_the_slope(mode):
    """Compiled by numba (nutpie's backend) or run from the Op's Python code, the graph's
    value and gradient are the NumPy reference's (libm and NumPy may differ in the last
    bit)."""
    rng = np.random.default_rng(3)
    eta_values = rng.normal(0, 3, 1000)
    k, n = counts(eta_values.size, seed=4)
    weights = rng.random(eta_values.size)
    eta = pt.dvector("eta")
    total = pt.sum(weights * binomial_logit(eta, k, n)[0])
    function = pytensor.function([eta], [total, pt.grad(total, eta)], mode=mode)
    value, gradient = function(eta_values)
    logp, slope = binomial_logit_terms(eta_values, k, n)
    assert value == pytest.approx(float(np.sum(weights * logp)), rel=1e-13)
    np.testing.assert_allclose(gradient, weights * slope, rtol=4e-15, atol=1e-13)


def test_the_slope_output_is_not_differentiated():
    eta = pt.dvector("eta")
    with pytest.raises(NotImplementedError, match="slope"):
        pt.grad(pt.sum(binomial_logit(eta, np.ones(3), np.ones(3))[1]), eta)


def test_scalars_broadcast_and_mismatched_cells_are_refused():
    logp, _ = binomial_logit(pt.as_tensor(0.3), np.array([2.0, 0.0]), 4.0)
    np.testing.assert_allclose(
        logp.eval(), binomial_logit_terms(np.full(2, 0.3), np.array([2.0, 0.0]), np.full(2, 4.0))[0]
    )
    eta = pt.dvector("eta")
    mismatched = binomial_logit(eta, pt.dvector("k"), pt.dvector("n"))[0]
    for mode in ["NUMBA", "FAST_COMPILE"]:
        function = pytensor.function([eta, *mismatched.owner.inputs[1:]], mismatched, mode=mode)
        with pytest.raises(ValueError, match="differ"):
            function(np.zeros(3), np.zeros(2), np.ones(3))
