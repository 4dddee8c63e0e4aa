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
