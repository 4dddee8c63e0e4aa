"""Nothing printed beyond its evidence: C1 verdicts from the interval and the ROPE, a
failed fit never judged, C3's slope only from three passed fits."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from study.pipeline.stage import load_script


@pytest.fixture(scope="module")
def c1():
    return load_script("c1_run_vs_persona")


@pytest.fixture(scope="module")
def c3():
    return load_script("c3_scale")


def test_c1_verdicts(c1) -> None:
    rng = np.random.default_rng(0)
    assert c1.c1_verdict(rng.normal(0.3, 0.05, 4000), 0.02, True)[0] == "holds"
    assert c1.c1_verdict(rng.normal(-0.3, 0.05, 4000), 0.02, True)[0] == "does not hold"
    equal = c1.c1_verdict(rng.normal(0.0, 0.004, 4000), 0.02, True)[0]
    assert equal == "holds (practically equal shares)"
    wide = c1.c1_verdict(rng.normal(0.0, 0.5, 4000), 0.02, True)[0]
    assert wide == "undecided at this size"
    # However clear the draws, a failed fit gets no verdict.
    assert c1.c1_verdict(rng.normal(0.3, 0.05, 4000), 0.02, False)[0] == "FAILED"


def _scale_table(diagnostics: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model": [f"m{i}" for i in range(len(diagnostics))],
            "log10_parameters": [8.0 + i for i in range(len(diagnostics))],
            "diagnostics": diagnostics,
        }
    )


def test_c3_claims_no_slope_from_fewer_than_three_passed_fits(c3) -> None:
    draws = [np.full(100, s) for s in (0.1, 0.2, 0.3, 0.9)]
    table = _scale_table(["passed", "passed", "FAILED", "passed"])
    text = c3.slope_text(table.head(3), draws[:3], 0.02)
    assert text.startswith("No slope is claimed: 2 of 3 models' fits passed")
    # With three passed fits, the failed one stays out: 0.1, 0.2 and 0.9 at 8, 9 and 11.
    text = c3.slope_text(table, draws, 0.02)
    slope = np.polyfit([8.0, 9.0, 11.0], [0.1, 0.2, 0.9], 1)[0]
    assert "Across the 3 models whose fits passed" in text
    assert f"is {slope:.4f} per decade" in text
    assert "outside the ROPE" in text


def test_c1_states_which_sampling_mode_its_runs_used(c1) -> None:
    free = pl.DataFrame({"sampling_mode": ["free", "free"]})
    options = pl.DataFrame({"sampling_mode": ["options"]})
    before_the_column = pl.DataFrame({"sampled": ["L"]})
    assert c1.sampling_modes(before_the_column) == ["free"]
    mixed = c1.sampling_line({"a": c1.sampling_modes(free), "b": c1.sampling_modes(options)})
    assert "a: generated freely" in mixed and "b: drawn from the option probabilities" in mixed
    alone = c1.sampling_line({"a": ["options"], "b": ["options"]})
    assert alone.startswith("Runs were drawn from the option probabilities")
    assert "different estimand" in alone
