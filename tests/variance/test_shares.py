"""Shares on the latent and data scales against brute-force Monte Carlo."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from study.variance.families import BERNOULLI, GAUSSIAN, get_family
from study.variance.model import population_intercept
from study.variance.shares import data_scale_shares, data_scale_variances, latent_shares

RNG = np.random.default_rng(2024)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_gaussian_data_scale_equals_latent_scale():
    sds = np.array([[1.0, 0.5, 2.0]])
    parts = data_scale_variances(
        np.array([3.0]), sds, GAUSSIAN, {"sigma_residual": np.array([1.5])}
    )
    assert np.allclose(data_scale_shares(parts)[0, :-1], latent_shares(sds**2, np.array([2.25]))[0])
    assert parts["nonadditive"][0] < 1e-9


def test_bernoulli_parts_match_monte_carlo():
    location, sd_a, sd_b = -0.7, 1.3, 0.6
    parts = data_scale_variances(np.array([location]), np.array([[sd_a, sd_b]]), BERNOULLI, {})
    outer, inner = 4000, 4000
    a = RNG.normal(0, sd_a, outer)
    b = RNG.normal(0, sd_b, inner)
    p = _sigmoid(location + a[:, None] + b[None, :])  # rows: a level, columns: b draws
    residual = np.mean(p * (1 - p))
    # Var over a of E[p | a], less the inner Monte Carlo noise of each row mean.
    conditional = p.mean(axis=1)
    var_a = conditional.var() - np.mean(p.var(axis=1)) / inner
    total = np.mean(p) * (1 - np.mean(p))  # Var(y) of a Bernoulli
    assert abs(parts["residual"][0] - residual) < 2e-3
    assert abs(parts["factors"][0, 0] - var_a) < 3e-3
    assert (
        abs(parts["factors"][0].sum() + parts["residual"][0] + parts["nonadditive"][0] - total)
        < 2e-3
    )


def test_ordered_mean_matches_monte_carlo():
    family = get_family("ordered")
    cut = np.array([[-1.0, 0.3, 1.5]])
    eta = np.array([[0.4]])
    mean, var = family.moments(eta, {"cutpoints": cut, "scores": np.array([1.0, 2.0, 3.0, 4.0])})
    latent = 0.4 + RNG.logistic(size=400_000)
    y = 1 + (latent[:, None] > cut[0][None, :]).sum(axis=1)
    assert abs(mean[0, 0] - y.mean()) < 0.01
    assert abs(var[0, 0] - y.var()) < 0.01


@settings(max_examples=40, deadline=None)
@given(
    location=st.floats(-3, 3),
    sds=st.lists(st.floats(0.01, 3.0), min_size=1, max_size=4),
    family=st.sampled_from(["bernoulli", "ordered"]),
)
def test_shares_are_a_partition(location, sds, family):
    fam = get_family(family)
    draws = (
        {"cutpoints": np.array([[-1.0, 0.5]]), "scores": np.arange(1.0, 4.0)}
        if family == "ordered"
        else {}
    )
    loc = np.array([0.0 if family == "ordered" else location])
    shares = data_scale_shares(data_scale_variances(loc, np.array([sds]), fam, draws))
    assert np.all(shares >= 0) and np.all(shares <= 1)
    assert abs(shares.sum() - 1.0) < 1e-9


def test_population_intercept_is_the_exact_conditional():
    # grand = intercept + mean_1 + mean_2; intercept ~ N(0.5, 1), mean_f ~ N(0, s_f^2/J_f).
    n = 200_000
    sds = np.tile([[1.0, 2.0]], (n, 1))
    draws = population_intercept(np.full(n, 1.5), sds, (5, 8), (0.5, 1.0), RNG)
    v = np.array([1.0 / 5, 4.0 / 8])
    expected_mean = 0.5 + 1.0 / (1.0 + v.sum()) * (1.5 - 0.5)
    expected_var = 1.0 * v.sum() / (1.0 + v.sum())
    assert abs(draws.mean() - expected_mean) < 0.01
    assert abs(draws.var() - expected_var) < 0.01
