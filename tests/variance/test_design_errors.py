"""Bad input: a clear error naming file, line, participant and field; nothing fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from study.errors import ConfigError, StudyInputError
from study.variance import fit, simulate
from study.variance.design import Source, build_cells, to_polars
from study.variance.families import get_family
from study.variance.spec import parse_formula


@pytest.fixture()
def frame():
    return simulate({"person": 3, "persona": 3}, {"person": 1.0}, family="bernoulli", runs=2).data


def _error(data, **kwargs) -> StudyInputError:
    with pytest.raises(StudyInputError) as caught:
        fit(data, **kwargs)
    return caught.value


def test_non_binary_outcome_names_line_participant_and_field(frame):
    frame.loc[7, "y"] = 2
    err = _error(
        frame,
        outcome="y",
        factors=["person", "persona"],
        family="bernoulli",
        source="ratings.csv",
        first_line=2,
    )
    assert (err.file, err.line, err.field) == ("ratings.csv", 9, "y")
    assert err.participant == frame.loc[7, "person"]
    assert "not 0 or 1" in str(err)


def test_missing_grouping_value_is_reported_with_its_row(frame):
    frame["persona"] = frame["persona"].astype(object)
    frame.loc[4, "persona"] = None
    err = _error(frame, outcome="y", factors=["person", "persona"], family="bernoulli")
    assert (err.line, err.field) == (5, "persona")


def test_missing_column_is_named(frame):
    err = _error(frame, outcome="y", factors=["person", "annotator"], family="bernoulli")
    assert err.field == "annotator"
    assert "not found" in str(err)


def test_text_in_a_gaussian_outcome(frame):
    frame["y"] = frame["y"].astype(object)
    frame.loc[3, "y"] = "n/a"
    err = _error(frame, outcome="y", factors=["person"], family="gaussian")
    assert (err.line, err.field) == (4, "y")


def test_binomial_successes_above_trials(frame):
    frame["n"] = 1
    frame.loc[0, "y"] = 3
    err = _error(frame, outcome="y", trials="n", factors=["person"], family="binomial")
    assert (err.line, err.field) == (1, "y")


def test_factor_with_one_level(frame):
    frame["site"] = "only"
    err = _error(frame, outcome="y", factors=["person", "site"], family="bernoulli")
    assert err.field == "site"


def test_ordered_needs_three_categories(frame):
    err = _error(frame, outcome="y", factors=["person"], family="ordered")
    assert "at least 3 categories" in str(err)


def test_configuration_errors(frame):
    with pytest.raises(ConfigError):
        fit(frame, outcome="y", factors=["person"], family="poisson")
    with pytest.raises(ConfigError):
        fit(frame, outcome="y", factors=["person"], family="binomial")  # no trials
    with pytest.raises(ConfigError):
        fit(frame, "y ~ (1|person)", outcome="y", factors=["person"])
    with pytest.raises(ConfigError):
        fit(frame, outcome="y", factors=["person"], residual="person")


def test_bernoulli_rows_aggregate_into_one_cell_per_level_combination():
    many_runs = simulate(
        {"person": 4, "persona": 3, "item": 2}, {"person": 1.0}, family="bernoulli", runs=50, seed=3
    ).data
    spec = parse_formula("y ~ (1|person) + (1|persona) + (1|item)")
    source = Source()
    polars_frame = to_polars(pl.from_pandas(many_runs), [*spec.columns, "y"], source)
    cells, cell_of_row = build_cells(polars_frame, spec, source)
    cells.stats = get_family("bernoulli").summarise(polars_frame, spec, cells, cell_of_row, source)
    assert cells.n_cells == 4 * 3 * 2  # not 1,200 rows: cost does not grow with runs
    assert cells.stats["n"].tolist() == [50] * 24
    by_cell = many_runs.groupby(["person", "persona", "item"])["y"].sum().to_numpy()
    assert np.array_equal(np.sort(cells.stats["k"]), np.sort(by_cell))
    assert isinstance(many_runs, pd.DataFrame)
