"""C6 behavioural washout: a known decay of |NLL_q - NLL_none| in log k is recovered, a
persisting persona has a slope near 0, bad rows are named."""

from __future__ import annotations

import pytest

from study.errors import StudyInputError
from study.persona_space import washout
from study.persona_space.simulate import simulate_nll
from study.persona_space.washout import washout_rows

DECAY = {"own": -0.3, "other": 0.0}


def test_a_known_decay_is_recovered():
    # level 1.5 keeps every gap above 0 (no truncation), so |d| is the planted line.
    rows = simulate_nll(DECAY, level=1.5, seed=1)
    result = washout(rows, model="sim", draws=500, tune=500, chains=4, cores=2, seed=2)
    table = result.table.set_index("condition")
    assert result.passed and (table["diagnostics"] == "passed").all()
    assert list(result.table.columns[:6]) == [
        "model",
        "condition",
        "slope",
        "lower",
        "upper",
        "diagnostics",
    ]
    for persona, truth in DECAY.items():
        low, high = table.loc[persona, ["lower", "upper"]]
        assert low <= truth <= high, (persona, truth, low, high)
    assert table.loc["own", "upper"] < -0.25
    assert (table["n_persons"] == 24).all() and (table["n_points"] == 720).all()


def test_rows_pair_each_persona_with_none_by_person():
    rows = simulate_nll({"own": -0.3}, level=1.5, persons=2, choices=3, seed=0)
    paired = washout_rows(rows)
    # 2 experiments x 2 participants (ids repeat across experiments) x 3 choices.
    assert paired.height == 12 and paired["person"].n_unique() == 4
    assert paired["x"].min() == 0.0  # log(0 + 1)
    assert (paired["y"] >= 0).all()


def test_bad_rows_are_named():
    rows = simulate_nll({"own": -0.3}, persons=2, choices=3, seed=0)
    with pytest.raises(StudyInputError, match="no rows under persona 'none'"):
        washout_rows(rows[rows["persona"] != "none"], source="scores.csv")
    twice = rows.iloc[[0, 0]]
    with pytest.raises(StudyInputError, match="two rows for persona 'none' at index 0"):
        washout_rows(twice)
    with pytest.raises(StudyInputError, match="field 'participant'"):
        washout_rows(rows.drop(columns="participant"))
    with pytest.raises(StudyInputError, match="field 'nll'"):
        washout_rows(rows.assign(nll=float("nan")), source="scores.csv")
