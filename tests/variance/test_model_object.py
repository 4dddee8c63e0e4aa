"""The model object and its ArviZ-native result: the contract outside checks rely on."""

from __future__ import annotations

import arviz as az
import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
import xarray as xr
from scipy import stats

from study.errors import ConfigError
from study.variance import VarianceModel, fit, load_tree, simulate
from study.variance.families import _binomial_logp, _cell_normal_logp, _ordered_logp

FORMULA = "y ~ 1 + (1|person) + (1|persona) + (1|person:persona) + (1|item)"
SHORT = {"draws": 300, "tune": 300, "chains": 2, "seed": 4, "retries": 0}


@pytest.fixture(scope="module")
def small():
    return simulate(
        {"person": 6, "persona": 3, "item": 3},
        {"person": 1.0, "persona": 0.6, "person:persona": 0.3, "item": 0.6},
        family="bernoulli",
        runs=3,
        seed=21,
    ).data


@pytest.fixture(scope="module")
def model_and_result(small):
    model = VarianceModel(small, FORMULA, family="bernoulli", residual="run")
    return model, model.fit(target_accept=0.9, **SHORT)


def test_the_printed_model_lists_every_term_and_prior(model_and_result):
    model, _ = model_and_result
    text = str(model)
    assert repr(model) == text
    for term in ("(1|person)", "(1|persona)", "(1|person:persona)", "(1|item)"):
        assert term in text
    assert text.count("HalfStudentT(nu=3") == 4
    assert "intercept ~ Normal(0, 2.5)" in text
    assert "residual 'run'" in text and "logit" in text


def test_the_result_is_an_arviz_citizen(model_and_result, small):
    model, result = model_and_result
    assert isinstance(model.model, pm.Model) and result.model is model.model
    assert isinstance(result.tree, xr.DataTree)
    groups = {node.name for node in result.tree.children.values()}
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"} <= (
        groups
    )
    cells = small.groupby(["person", "persona", "item"]).size()
    log_lik = result.tree["log_likelihood"]["y_successes"]
    assert log_lik.sizes == {"chain": 2, "draw": 300, "cell": len(cells)}
    observed = result.tree["observed_data"]["y_successes"].values
    assert observed.sum() == small["y"].sum()
    loo = az.loo(result.tree)
    assert np.isfinite(loo.elpd) and loo.n_data_points == len(cells)
    assert isinstance(result.passed, bool)
    assert "diagnostics" in result.summary()


def test_posterior_predictive_draws_are_on_the_data_scale(model_and_result, small):
    _, result = model_and_result
    predictive = pm.sample_posterior_predictive(
        result.tree, model=result.model, var_names=["y_successes"], random_seed=1, progressbar=False
    )["posterior_predictive"]["y_successes"]
    trials = result.tree["constant_data"]["stat_n"].values
    assert predictive.sizes == {"chain": 2, "draw": 300, "cell": trials.size}
    assert (predictive.values >= 0).all() and (predictive.values <= trials).all()
    # Replicated totals bracket the observed total (a posterior predictive check).
    totals = predictive.sum("cell").values.ravel()
    assert np.quantile(totals, 0.01) <= small["y"].sum() <= np.quantile(totals, 0.99)


def test_saved_posterior_keeps_its_format(model_and_result, tmp_path):
    _, result = model_and_result
    assert any(str(name).startswith("raw_") for name in result.posterior.data_vars)
    result.save(tmp_path)
    saved = load_tree(tmp_path / "posterior.nc")
    assert {node.name for node in saved.children.values()} == {"posterior", "sample_stats"}
    assert not [n for n in saved["posterior"].data_vars if str(n).startswith("raw_")]
    assert "effect_persona" in saved["posterior"].data_vars


def test_the_shortcut_and_the_model_object_give_the_same_fit(model_and_result, small):
    _, result = model_and_result
    again = fit(
        small, FORMULA, family="bernoulli", residual="run", target_accept=0.9, prob=0.89, **SHORT
    )
    np.testing.assert_array_equal(
        again.posterior["data_share"].values, result.posterior["data_share"].values
    )


def test_intervals_follow_arviz_settings(model_and_result):
    model, result = model_and_result
    assert result.prob == az.rcParams["stats.ci_prob"]
    with az.rc_context({"stats.ci_prob": 0.5, "stats.ci_kind": "hdi"}):
        narrow = model.fit(target_accept=0.9, **SHORT)
    assert narrow.components["interval"].iloc[0] == "50% HDI"
    wide, tight = result.components, narrow.components
    assert (
        (tight["data_share_upper"] - tight["data_share_lower"])
        .lt(wide["data_share_upper"] - wide["data_share_lower"])
        .all()
    )


def test_a_cell_log_likelihood_is_the_sum_over_its_rows():
    """Per cell: bernoulli rows, binomial rows (with their coefficients), gaussian rows."""
    eta = 0.3
    k_rows, n_rows = np.array([2.0, 5.0, 0.0]), np.array([4.0, 6.0, 3.0])
    coefficient = np.sum(stats.binom.logpmf(k_rows, n_rows, 0.5)) - np.sum(
        k_rows * np.log(0.5) + (n_rows - k_rows) * np.log(0.5)
    )
    cell = _binomial_logp(
        pt.as_tensor(k_rows.sum()), pt.as_tensor(eta), n_rows.sum(), coefficient
    ).eval()
    p = 1.0 / (1.0 + np.exp(-eta))
    assert cell == pytest.approx(np.sum(stats.binom.logpmf(k_rows, n_rows, p)))

    y = np.array([1.2, 0.7, 2.5, 1.9])
    mean, ss = y.mean(), np.sum((y - y.mean()) ** 2)
    gaussian = _cell_normal_logp(pt.as_tensor(mean), pt.as_tensor(1.1), 0.8, 4.0, ss).eval()
    assert gaussian == pytest.approx(np.sum(stats.norm.logpdf(y, 1.1, 0.8)))

    cut = np.array([-0.5, 0.4])
    counts = np.array([[3.0, 1.0, 2.0]])
    ordered = _ordered_logp(
        pt.as_tensor(counts), pt.as_tensor([eta]), 6.0, pt.as_tensor(cut), np.arange(3.0)
    ).eval()
    cdf = 1.0 / (1.0 + np.exp(-(cut - eta)))
    probs = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    assert ordered[0] == pytest.approx(np.sum(counts[0] * np.log(probs)))


def test_model_errors_name_the_problem(small):
    with pytest.raises(ConfigError, match=r"'\(1 \+ x\|person\)'.*supported"):
        VarianceModel(small, "y ~ (1 + x|person)", family="bernoulli")
    with pytest.raises(ConfigError, match="clashes"):
        VarianceModel(small, "y ~ (1|person) + (1|item)", family="bernoulli", residual="item")
