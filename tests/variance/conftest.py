"""Shared fits for the variance tests.

Each distinct model structure costs one numba compile (about 15 s here), so the fits
that several tests read are made once per session, and designs are kept tiny.
"""

from __future__ import annotations

import warnings

import pytest

from study.variance import fit, simulate

# A small crossed design with the study's factors; 5 personas is the normal case.
CROSSED = {"person": 16, "persona": 5, "item": 4}
CROSSED_SDS = {"person": 1.0, "persona": 0.6, "person:persona": 0.4, "item": 0.7}
FACTORS = ["person", "persona", "person:persona", "item"]
SAMPLING = {"draws": 1000, "tune": 1000, "chains": 4, "cores": 2}


@pytest.fixture(scope="session")
def bernoulli_sim():
    return simulate(CROSSED, CROSSED_SDS, family="bernoulli", runs=6, intercept=-0.3, seed=11)


@pytest.fixture(scope="session")
def bernoulli_fit(bernoulli_sim):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a failed gate would fail the fixture
        return fit(
            bernoulli_sim.data,
            outcome="y",
            factors=FACTORS,
            family="bernoulli",
            residual="run",
            seed=1,
            **SAMPLING,
        )


@pytest.fixture(scope="session")
def gaussian_sim():
    return simulate(
        {"person": 12, "persona": 5},
        {"person": 1.0, "persona": 0.7, "person:persona": 0.5},
        family="gaussian",
        runs=3,
        intercept=2.0,
        residual_sd=0.8,
        seed=5,
    )


@pytest.fixture(scope="session")
def gaussian_fit(gaussian_sim):
    return fit(
        gaussian_sim.data,
        "y ~ 1 + (1|person) + (1|persona) + (1|person:persona)",
        family="gaussian",
        residual="run",
        seed=2,
        **SAMPLING,
    )
