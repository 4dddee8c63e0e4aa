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


def test_bambi_proportion_and_brms_trials_spellings_agree():
    bambi = parse_formula("p(k, n) ~ (1|rater) + (1|rater:text)")
    brms = parse_formula("k | trials(n) ~ (1|rater) + (1|rater:text)")
    assert bambi == brms
    assert (bambi.outcome, bambi.trials) == ("k", "n")


def test_nesting_inside_a_formula_expands_every_level():
    spec = parse_formula("y ~ 1 + (1|school/class/pupil) + (1|item)")
    assert [c.name for c in spec.components] == [
        "school",
        "school:class",
        "school:class:pupil",
        "item",
    ]


@pytest.mark.parametrize(
    ("formula", "term"),
    [
        ("y ~ x + (1|g)", "x"),
        ("y ~ (1 + x|g)", "(1 + x|g)"),
        ("y ~ (1||g)", "(1||g)"),
        ("y ~ (1|g) + a*b", "a*b"),
        ("y ~ (1|g) + offset(t)", "offset(t)"),
    ],
)
def test_an_unsupported_term_is_named_with_what_is_supported(formula, term):
    with pytest.raises(ConfigError) as caught:
        parse_formula(formula)
    message = str(caught.value)
    assert repr(term) in message
    assert "(1|a/b)" in message and "p(k, n)" in message and "k | trials(n)" in message


def test_an_outcome_expression_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"'log\(y\)'"):
        parse_formula("log(y) ~ (1|g)")
