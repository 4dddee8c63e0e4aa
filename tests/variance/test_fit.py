"""V1 fits on simulated data with known components."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from study.variance import DiagnosticsWarning, VarianceModel, fit, load_tree, save_tree, simulate
from study.variance.plots import plot_components, plot_shares

from .conftest import FACTORS, SAMPLING


def _covered(result, truth, scale="data_share"):
    table = result.components.set_index("component")
    known = truth.dropna(subset=[scale]).set_index("component")
    low, high = table.loc[known.index, f"{scale}_lower"], table.loc[known.index, f"{scale}_upper"]
    return (known[scale] >= low) & (known[scale] <= high)


def test_bernoulli_fit_passes_and_covers_the_truth(bernoulli_fit, bernoulli_sim):
    assert bernoulli_fit.passed
    truth = bernoulli_sim.truth.replace({"component": {"residual": "run"}})
    covered = _covered(bernoulli_fit, truth)
    # 6 data-scale shares at 94%: all or all but one inside their interval.
    assert covered.sum() >= len(covered) - 1, bernoulli_fit.components
    table = bernoulli_fit.components.set_index("component")
    assert abs(table["data_share"].sum() - 1.0) < 1e-6
    assert table.loc["run", "variance"] == pytest.approx(np.pi**2 / 3)


def test_datatree_has_named_dimensions(bernoulli_fit):
    posterior = bernoulli_fit.posterior
    assert set(posterior["data_share"].dims) == {"chain", "draw", "data_component"}
    assert list(posterior["variance"]["component"].values) == [*FACTORS, "run"]
    assert posterior["effect_persona"].sizes["persona"] == 5
    persona = posterior["data_share"].sel(data_component="persona")
    assert persona.sizes == {"chain": 4, "draw": 1000}


def test_binomial_counts_give_the_same_posterior_as_bernoulli_rows(bernoulli_fit, bernoulli_sim):
    counts = bernoulli_sim.data.groupby(["person", "persona", "item"], as_index=False).agg(
        k=("y", "sum"), n=("y", "size")
    )
    formula = "(1|person) + (1|persona) + (1|person:persona) + (1|item)"
    rows = VarianceModel(bernoulli_sim.data, f"y ~ {formula}", "bernoulli", residual="run")
    cells = VarianceModel(counts, f"p(k, n) ~ {formula}", "binomial", residual="run")
    # The same log-density up to the binomial coefficients, at any parameter values.
    coefficients = float(np.sum(stats.binom.logpmf(counts["k"], counts["n"], 0.5)))
    coefficients -= float(np.sum(counts["n"]) * np.log(0.5))
    rng = np.random.default_rng(0)
    row_logp, cell_logp = rows.model.compile_logp(), cells.model.compile_logp()
    for _ in range(3):
        point = {
            name: value + rng.normal(0.0, 0.3, size=np.shape(value))
            for name, value in rows.model.initial_point().items()
        }
        assert cell_logp(point) - row_logp(point) == pytest.approx(coefficients, abs=1e-8)
    # So the posteriors agree (to Monte Carlo error: the constant changes rounding only).
    binomial = cells.fit(seed=1, ci_prob=0.94, ci_kind="eti", **SAMPLING)
    for column in ("data_share", "data_share_lower", "data_share_upper", "latent_share"):
        np.testing.assert_allclose(
            binomial.components[column], bernoulli_fit.components[column], atol=0.03
        )


def test_c1_statement_reads_the_posterior(bernoulli_fit):
    c1 = bernoulli_fit.c1("persona")
    shares = bernoulli_fit.posterior["data_share"]
    run = shares.sel(data_component="run").values.ravel()
    persona = shares.sel(data_component="persona").values.ravel()
    assert c1.probability == pytest.approx(np.mean(run >= persona))
    assert c1.holds == (c1.probability >= 0.5)
    assert "P(run >= persona)" in str(c1)
    with pytest.raises(KeyError):
        bernoulli_fit.c1("annotator")


def test_d_study_precision_improves_with_runs_and_personas(bernoulli_fit):
    table = bernoulli_fit.d_study(
        "persona", sizes={"run": [1, 4, 16], "persona": [5, 20]}, target_se=0.3
    )
    assert len(table) == 6
    for _, group in table.groupby("persona"):
        assert group["se_difference"].is_monotonic_decreasing
        assert group["g_coefficient"].is_monotonic_increasing
    by_personas = table.groupby("persona")["variance_rel_se"].mean()
    assert by_personas[20] < by_personas[5]
    assert table["meets_target"].dtype == bool


def test_save_load_round_trip_gives_the_same_bytes(bernoulli_fit, tmp_path):
    first, second = tmp_path / "a.nc", tmp_path / "b.nc"
    save_tree(bernoulli_fit.tree, first)
    save_tree(bernoulli_fit.tree, second)
    assert first.read_bytes() == second.read_bytes()
    loaded = load_tree(first)
    np.testing.assert_array_equal(
        loaded["posterior"]["data_share"].values, bernoulli_fit.posterior["data_share"].values
    )


def test_plots_are_written(bernoulli_fit, gaussian_fit, tmp_path):
    plot_shares({"bernoulli": bernoulli_fit, "gaussian": gaussian_fit}, path=tmp_path / "s.png")
    plot_components(bernoulli_fit, path=tmp_path / "c.png")
    for name in ("s.png", "c.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gaussian_reml_lies_inside_the_bayesian_intervals(gaussian_fit, gaussian_sim):
    assert gaussian_fit.passed
    assert gaussian_fit.reml is not None
    assert gaussian_fit.reml["inside"].all(), gaussian_fit.reml
    table = gaussian_fit.components.set_index("component")
    np.testing.assert_allclose(table["data_share"], table["latent_share"])
    truth = gaussian_sim.truth.replace({"component": {"residual": "run"}})
    assert _covered(gaussian_fit, truth, "latent_share").sum() >= 3


def test_a_fit_that_fails_its_diagnostics_is_marked_failed(gaussian_sim):
    with pytest.warns(DiagnosticsWarning, match="FAILED"):
        result = fit(
            gaussian_sim.data,
            "y ~ (1|person) + (1|persona) + (1|person:persona)",
            residual="run",
            seed=2,
            draws=20,
            tune=30,
            chains=4,
            cores=2,
            reml=False,
        )
    assert not result.passed
    assert not result.components["passed"].any()
    assert not result.diagnostics.loc[result.diagnostics["gated"], "passed"].all()
    assert "FAILED" in str(result.c1("persona"))
    assert result.tree.attrs["diagnostics_passed"] == 0
    # One automatic retry (twice the draws) was made, and is recorded.
    assert result.tree.attrs["attempts"] == 2
    assert result.notes and "attempt 1 failed" in result.notes[0]


def test_ordered_rating_scale_recovers_its_components():
    sim = simulate(
        {"person": 20, "persona": 5},
        {"person": 1.2, "persona": 0.8},
        family="ordered",
        runs=4,
        cutpoints=(-1.5, 0.0, 1.5),
        seed=8,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", DiagnosticsWarning)
        result = fit(
            sim.data,
            outcome="y",
            factors=["person", "persona"],
            family="ordered",
            seed=3,
            **SAMPLING,
        )
    assert _covered(result, sim.truth, "latent_share").all(), result.components
    cut = result.posterior["population_cutpoints"].mean(dim=("chain", "draw")).values
    assert np.all(np.diff(cut) > 0)
    assert abs(cut[1] - 0.0) < 1.0
