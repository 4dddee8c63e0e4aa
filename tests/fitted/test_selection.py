"""Fitting a persona at test time from the candidates' per-choice NLLs: the fitted, the
placebo and the oracle candidates, on tables whose answer is known."""

from __future__ import annotations

import polars as pl
import pytest

from study.errors import ConfigError
from study.fitted.selection import select_personas

ORDER = ["a", "b", "c"]


def _scores(nll: dict[tuple[str, str, str], list[float]]) -> pl.DataFrame:
    """(experiment, participant, candidate) -> NLL per choice, one session."""
    rows = [
        {
            "experiment": e,
            "participant": p,
            "session": 0,
            "choice": k,
            "candidate": c,
            "nll": value,
        }
        for (e, p, c), values in nll.items()
        for k, value in enumerate(values)
    ]
    return pl.DataFrame(rows)


def test_fitted_own_is_best_on_the_first_k_and_oracle_on_the_rest() -> None:
    scores = _scores(
        {
            ("e", "1", "a"): [0.1, 0.1, 2.0, 2.0],  # best early, bad late
            ("e", "1", "b"): [1.0, 1.0, 0.5, 0.5],  # best late
            ("e", "1", "c"): [1.0, 1.0, 1.0, 1.0],
            ("e", "2", "a"): [1.0, 1.0, 1.0, 1.0],
            ("e", "2", "b"): [1.0, 1.0, 1.0, 1.0],
            ("e", "2", "c"): [0.2, 0.2, 0.2, 0.2],
        }
    )
    chosen = select_personas(scores, {("e", "1"): 2, ("e", "2"): 2}, ORDER, seed=0)
    one = chosen.candidates.filter(pl.col("participant") == "1")
    assert one.filter(pl.col("selected"))["candidate"].to_list() == ["a"]
    assert one.filter(pl.col("oracle"))["candidate"].to_list() == ["b"]
    a = one.filter(pl.col("candidate") == "a").row(0, named=True)
    assert (a["nll_first_k"], a["nll_heldout"]) == pytest.approx((0.1, 2.0))
    heldout = chosen.heldout.filter(pl.col("participant") == "1")
    by_condition = {
        c: heldout.filter(pl.col("condition") == c)["nll"].to_list()
        for c in ("fitted_own", "fitted_other", "oracle")
    }
    # Held out: choices 2 and 3 only. Person 1's donor is person 2, fitted on "c".
    assert by_condition == {
        "fitted_own": [2.0, 2.0],
        "fitted_other": [1.0, 1.0],
        "oracle": [0.5, 0.5],
    }
    assert chosen.undonored == ()


def test_the_placebo_is_a_derangement_over_persons_whatever_they_fitted() -> None:
    # Persons 1 and 2 both fit "a", person 3 fits "b": each takes another person's fitted
    # candidate, which may be their own (then their contrast is 0, not forced above it).
    flat = [1.0, 1.0, 1.0]
    scores = _scores(
        {
            **{("e", p, "a"): [0.1, 1.0, 1.0] for p in ("1", "2")},
            **{("e", p, c): flat for p in ("1", "2") for c in ("b", "c")},
            ("e", "3", "a"): flat,
            ("e", "3", "b"): [0.1, 1.0, 1.0],
            ("e", "3", "c"): flat,
        }
    )
    donors_seen = set()
    for seed in range(12):
        chosen = select_personas(scores, {("e", p): 1 for p in "123"}, ORDER, seed=seed)
        picks = chosen.heldout.filter(pl.col("condition") == "fitted_other").unique(
            ["participant", "candidate"]
        )
        other = dict(zip(picks["participant"], picks["candidate"], strict=True))
        assert set(other) == {"1", "2", "3"} and chosen.undonored == ()
        # A derangement of 3 persons is one of the two 3-cycles.
        cycles = {
            ("2", "3", "1"): {"1": "a", "2": "b", "3": "a"},
            ("3", "1", "2"): {"1": "b", "2": "a", "3": "a"},
        }
        assert other in cycles.values()
        donors_seen.add(tuple(sorted(other.items())))
    assert len(donors_seen) == 2, "the seed picks the derangement"


def test_a_person_alone_in_their_experiment_has_no_placebo() -> None:
    scores = _scores(
        {
            **{("e", p, c): [0.5, 0.5] for p in ("1", "2") for c in ORDER},
            **{("f", "1", c): [0.5, 0.5] for c in ORDER},
        }
    )
    split = {("e", "1"): 1, ("e", "2"): 1, ("f", "1"): 1}
    chosen = select_personas(scores, split, ORDER, seed=0)
    assert chosen.undonored == (("f", "1"),)
    placebo = chosen.heldout.filter(pl.col("condition") == "fitted_other")
    assert set(placebo["participant"]) == {"1", "2"} and set(placebo["experiment"]) == {"e"}
    # Ties go to the library's first candidate; alike persons' contrast is exactly 0.
    assert set(chosen.candidates.filter(pl.col("selected"))["candidate"]) == {"a"}
    assert placebo["candidate"].to_list() == ["a", "a"]


def test_sessions_count_in_order_across_the_split() -> None:
    rows = [
        {
            "experiment": "e",
            "participant": "1",
            "session": s,
            "choice": k,
            "candidate": c,
            "nll": 0.1 if (c == "a") == (s == 0) else 1.0,
        }
        for s in (0, 1)
        for k in (0, 1)
        for c in ("a", "b")
    ]
    chosen = select_personas(pl.DataFrame(rows), {("e", "1"): 2}, ["a", "b"], seed=0)
    # The first two choices are session 0's, where "a" is better; session 1 is held out.
    assert chosen.candidates.filter(pl.col("selected"))["candidate"].to_list() == ["a"]
    assert set(chosen.heldout["session"].to_list()) == {1}
    assert chosen.candidates.filter(pl.col("oracle"))["candidate"].to_list() == ["b"]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="not in the library"):
        select_personas(_scores({("e", "1", "zz"): [1.0, 1.0]}), {("e", "1"): 1}, ORDER, seed=0)
    with pytest.raises(ConfigError, match="no split given"):
        select_personas(_scores({("e", "1", "a"): [1.0, 1.0]}), {}, ORDER, seed=0)
