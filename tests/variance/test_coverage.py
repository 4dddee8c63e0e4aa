"""Small coverage and recovery check (the full study: bench/coverage_variance.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from study.variance import fit, simulate

DESIGN = {"person": 10, "persona": 5}
FACTORS = ["person", "persona", "person:persona"]


@pytest.mark.slow
def test_94_percent_intervals_cover_the_true_variances_over_a_grid():
    covered, total, failed = 0, 0, 0
    truths, estimates = [], []
    rng = np.random.default_rng(7)
    for index in range(20):
        sds = dict(zip(FACTORS, rng.uniform(0.3, 1.2, size=3), strict=True))
        sim = simulate(
            DESIGN, sds, family="gaussian", runs=3, intercept=1.0, residual_sd=0.7, seed=100 + index
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit(
                sim.data, outcome="y", factors=FACTORS, seed=index, reml=False, draws=500, tune=500
            )
        failed += not result.passed
        table = result.components.set_index("component")
        truth = sim.truth.set_index("component")["variance"]
        for name in [*FACTORS, "residual"]:
            total += 1
            low, high = table.loc[name, ["variance_lower", "variance_upper"]]
            covered += low <= truth[name] <= high
        for name in ["person:persona", "residual"]:
            truths.append(np.log(truth[name]))
            estimates.append(np.log(table.loc[name, "variance"]))
    assert failed <= 1
    # 80 intervals at 94%: a correct model lands in [0.85, 1.0] with probability > 0.98;
    # a wrong residual or prior scale misses badly.
    assert 0.85 <= covered / total <= 1.0, (covered, total)
    # Recovery: the posterior means follow the true variances over the grid (log scale;
    # the components with 50 and 150 cells, where one data set pins the value down).
    assert np.corrcoef(truths, estimates)[0, 1] > 0.8, np.corrcoef(truths, estimates)
