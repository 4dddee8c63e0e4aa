"""The Psych-201 paper's Cohen's d (study.replication.t1) against hand computations."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from study.errors import StudyInputError
from study.replication.t1 import (
    PAPER_D_COLUMNS,
    experiments_without_own,
    paper_d,
    within_band,
)


def _rows(experiment: str, persona: str, values: list[float], first: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "experiment": [experiment] * len(values),
            "participant": [str(first + i // 2) for i in range(len(values))],
            "persona": [persona] * len(values),
            "nll": values,
        }
    )


def test_unpaired_arms_with_population_sds() -> None:
    # The own arm has fewer rows (fewer participants have a profile): unpaired samples.
    none = [0.5, 1.5, 2.0, 3.0, 0.1, 0.9]
    own = [0.4, 1.0, 2.5]
    scores = pl.concat([_rows("e", "none", none), _rows("e", "own", own)])
    row = paper_d(scores).row(0, named=True)
    sd_none = math.sqrt(sum((x - np.mean(none)) ** 2 for x in none) / len(none))
    sd_own = math.sqrt(sum((x - np.mean(own)) ** 2 for x in own) / len(own))
    expected = (np.mean(none) - np.mean(own)) / math.sqrt((sd_none**2 + sd_own**2) / 2)
    assert row["n_none"] == 6 and row["n_own"] == 3
    assert row["sd_none"] == pytest.approx(sd_none, abs=1e-12)
    assert row["sd_own"] == pytest.approx(sd_own, abs=1e-12)
    assert row["d"] == pytest.approx(expected, abs=1e-12)
    # The sample SD (n - 1) would give another number: the paper divides by n.
    sample = (np.mean(none) - np.mean(own)) / math.sqrt(
        (np.var(none, ddof=1) + np.var(own, ddof=1)) / 2
    )
    assert abs(row["d"] - sample) > 1e-3


def test_one_row_per_experiment_with_both_arms_and_other_personas_ignored() -> None:
    scores = pl.concat(
        [
            _rows("b", "none", [1.0, 2.0]),
            _rows("b", "own", [1.0, 3.0]),
            _rows("b", "other", [100.0, 200.0]),  # the placebo is not an arm of d
            _rows("a", "none", [1.0, 2.0, 4.0]),
            _rows("a", "own", [0.5, 1.0]),
            _rows("c", "none", [1.0, 2.0]),  # no profile fields: no own rows
        ]
    )
    table = paper_d(scores)
    assert table.columns == PAPER_D_COLUMNS
    assert table["experiment"].to_list() == ["a", "b"]
    b = table.row(1, named=True)
    assert b["mean_own"] == 2.0 and b["d"] == pytest.approx(-0.5 / math.sqrt((0.25 + 1.0) / 2))
    assert experiments_without_own(scores) == ["c"]


def test_positive_d_means_the_profile_lowers_the_nll() -> None:
    scores = pl.concat([_rows("e", "none", [2.0, 3.0]), _rows("e", "own", [1.0, 2.0])])
    assert paper_d(scores)["d"][0] > 0


def test_bad_nll_names_row_and_participant() -> None:
    scores = pl.concat([_rows("e", "none", [1.0, 2.0]), _rows("e", "own", [1.0, float("nan")])])
    with pytest.raises(StudyInputError) as error:
        paper_d(scores, source="scores.parquet")
    message = str(error.value)
    assert "scores.parquet:4" in message and "participant '0'" in message and "'nll'" in message


def test_missing_column_is_named() -> None:
    with pytest.raises(StudyInputError, match="'persona' not found"):
        paper_d(pl.DataFrame({"experiment": ["e"], "participant": ["1"], "nll": [1.0]}))


def test_band() -> None:
    assert within_band(0.03) and within_band(-0.029) and not within_band(0.031)
