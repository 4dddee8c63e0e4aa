"""Sampler choice: PyMC's NUTS takes over when nutpie fails."""

from __future__ import annotations

import pytest

from study.variance import fit, simulate


@pytest.mark.slow
def test_pymc_fallback_when_nutpie_fails(monkeypatch):
    import nutpie

    def broken(*args, **kwargs):
        raise RuntimeError("simulated nutpie failure")

    monkeypatch.setattr(nutpie, "compile_pymc_model", broken)
    sim = simulate(
        {"person": 6, "persona": 3},
        {"person": 1.0, "persona": 0.5},
        family="gaussian",
        runs=2,
        seed=1,
    )
    with pytest.warns(RuntimeWarning, match="falling back to PyMC"):
        result = fit(
            sim.data,
            outcome="y",
            factors=["person", "persona"],
            draws=100,
            tune=100,
            chains=2,
            reml=False,
            retries=0,
        )
    assert result.tree.attrs["sampler"] == "pymc"
    assert set(result.posterior["variance"]["component"].values) == {
        "person",
        "persona",
        "residual",
    }
    assert result.posterior["sigma"].sizes["draw"] == 100


def test_adaptive_draws_stop_at_the_first_block_that_passes_the_gate():
    import warnings

    import numpy as np

    from study.variance import VarianceModel
    from study.variance.diagnostics import GATE
    from study.variance.variance_model import BLOCK, MAX_DRAWS

    sim = simulate(
        {"person": 12, "persona": 5},
        {"person": 1.0, "persona": 0.7, "person:persona": 0.5},
        family="gaussian",
        runs=3,
        intercept=2.0,
        residual_sd=0.8,
        seed=5,
    )
    model = VarianceModel(sim.data, "y ~ (1|person) + (1|persona) + (1|person:persona)")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # nutpie must not fall back
        first = model.fit(seed=2, reml=False, draws=None)
        again = model.fit(seed=2, reml=False, draws=None)
        # A fixed draw count defaults to 4 chains; the adaptive fit ran one per CPU.
        chains = first.posterior.sizes["chain"]
        fixed = model.fit(seed=2, reml=False, draws=MAX_DRAWS, retries=0, chains=chains)
    drawn = first.posterior.sizes["draw"]
    assert first.passed and drawn % BLOCK == 0 and drawn < MAX_DRAWS
    # A small model (about 80 parameters) keeps the usual target acceptance.
    assert first.tree.attrs["target_accept"] == 0.8
    gated = first.diagnostics[first.diagnostics["gated"]].dropna(subset=["r_hat"])
    assert (gated["ess_bulk"] >= GATE["ess_bulk"]).all()
    # The same seed, the same draws: the stopping point does not depend on timing, and
    # the draws are the first ones of an uninterrupted run.
    np.testing.assert_array_equal(first.posterior["sigma"].values, again.posterior["sigma"].values)
    np.testing.assert_array_equal(
        first.posterior["sigma"].values, fixed.posterior["sigma"].values[:, :drawn]
    )
    # It passed on its first attempt, without a retry.
    assert first.tree.attrs["attempts"] == 1


def test_a_large_model_defaults_to_a_lower_target_acceptance():
    """From 1,000 free parameters NUTS aims at 0.7 unless told otherwise; the fit records
    what it used."""
    from study.variance import VarianceModel
    from study.variance.sampling import LARGE_MODEL, n_free_parameters

    sim = simulate(
        {"person": 100, "persona": 10},
        {"person": 1.0, "persona": 0.5, "person:persona": 0.3},
        family="gaussian",
        runs=2,
        residual_sd=0.5,
        seed=3,
    )
    model = VarianceModel(sim.data, "y ~ (1|person) + (1|persona) + (1|person:persona)")
    assert n_free_parameters(model.model) >= LARGE_MODEL
    quick = {"draws": 50, "tune": 50, "chains": 2, "retries": 0, "reml": False}
    assert model.fit(**quick).tree.attrs["target_accept"] == 0.7
    assert model.fit(**quick, target_accept=0.9).tree.attrs["target_accept"] == 0.9
