"""C6 drift on synthetic activations with planted slopes along a planted direction: the
intervals cover the truth, the direction statements follow, a failed fit says so."""

from __future__ import annotations

import numpy as np
import pytest

from study.persona_space import activation_set, axis_table, drift
from study.persona_space.simulate import simulate_activations

CONDITIONS = ["assistant", "none", "own", "other", "role:a", "role:b"]
# own starts below none and rises (toward the assistant, closing the gap to none);
# role:a starts above none and falls (away from the assistant, toward none); role:b
# starts below none and falls (away from both).
DRIFT = {"own": 0.06, "role:a": -0.06, "role:b": -0.06}
OFFSETS = {"own": -1.0, "role:a": 1.0, "role:b": -1.0}
SAMPLING = {"draws": 500, "tune": 500, "chains": 4, "cores": 2, "seed": 1}


@pytest.fixture(scope="module")
def planted():
    sim = simulate_activations(
        CONDITIONS,
        shift=5.0,
        drift=DRIFT,
        offsets=OFFSETS,
        choices=20,
        cell_sd=0.2,
        layers=3,
        # Six 94% intervals miss at least one truth in about a third of data sets (seed 5
        # does: the assistant's 0 at 2.4 standard errors, a chance excursion, the same in
        # a plain least-squares slope); this data set is one where none misses.
        seed=6,
    )
    acts = activation_set(sim.keys, sim.values, model="sim")
    axes = axis_table(acts, split_draws=2).axes
    return sim, acts, axes


def test_planted_drift_slopes_are_covered_and_their_directions_stated(planted):
    sim, acts, axes = planted
    assert acts.middle_layer() == 1
    alignment = float(axes[1] @ sim.direction)
    # The axis points toward the assistant; drift lies along d, so its slope on the axis
    # is exactly drift_q times this alignment.
    assert alignment > 0.9
    result = drift(acts, axes[1], **SAMPLING)
    table = result.table.set_index("condition")
    assert result.layer == 1 and result.fit.passed
    assert (table["diagnostics"] == "passed").all()
    for condition in CONDITIONS:
        truth = DRIFT.get(condition, 0.0) * alignment
        low, high = table.loc[condition, ["lower", "upper"]]
        assert low <= truth <= high, (condition, truth, low, high)
    assert table.loc["own", "direction"] == "toward the assistant; toward none"
    assert table.loc["role:a", "direction"] == "away from the assistant; toward none"
    assert table.loc["role:b", "direction"] == "away from the assistant; away from none"
    assert table.loc["other", "direction"] == "undecided on the assistant; undecided on none"
    assert table.loc["none", "direction"] == "reference"
    assert table.loc["assistant", "direction"] == "assistant"
    assert table.loc["assistant", "position"] > table.loc["none", "position"] + 3
    assert (table["n_persons"] == 24).all() and (table["n_points"] == 480).all()


def test_a_fit_that_fails_its_diagnostics_is_reported_as_failed(planted):
    _, acts, axes = planted
    with pytest.warns(UserWarning, match="drift fit FAILED"):
        result = drift(acts, axes[1], draws=20, tune=20, chains=2, cores=2, retries=0)
    assert not result.fit.passed
    assert (result.table["diagnostics"] == "failed").all()
    persona_rows = ~result.table["condition"].isin(["none", "assistant"])
    assert (result.table.loc[persona_rows, "direction"] == "failed fit").all()
    assert np.isnan(result.table.loc[persona_rows, "vs_none_lower"]).all()
