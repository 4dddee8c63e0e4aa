"""Formula and factor-list front ends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from study.errors import ConfigError
from study.variance.spec import components_from_factors, parse_formula


def test_formula_and_factor_list_give_the_same_components():
    formula = parse_formula("y ~ 1 + (1|person) + (1 | persona) + (1|person:persona) + (1|item)")
    listed = components_from_factors(["person", "persona", "person:persona", "item"])
    assert formula.components == listed
    assert formula.outcome == "y"
    assert formula.columns == ("person", "persona", "item")


def test_nesting_expands_to_outer_and_interaction():
    spec = parse_formula("nll ~ (1|experiment/participant)")
    assert [c.columns for c in spec.components] == [("experiment",), ("experiment", "participant")]


def test_binomial_trials_in_the_formula():
    spec = parse_formula("k | trials(n) ~ (1|rater)")
    assert (spec.outcome, spec.trials) == ("k", "n")


@pytest.mark.parametrize(
    "formula",
    ["y ~ x + (1|g)", "y ~ (x|g)", "y (1|g)", "y ~ (1|g) + (1|g)", "y ~ 1"],
)
def test_unsupported_formulas_are_config_errors(formula):
    with pytest.raises(ConfigError):
        parse_formula(formula)


names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@given(st.lists(names, min_size=1, max_size=4, unique=True))
def test_any_list_of_columns_round_trips_through_a_formula(columns):
    formula = "y ~ " + " + ".join(f"(1|{c})" for c in columns)
    assert [c.name for c in parse_formula(formula).components] == columns
