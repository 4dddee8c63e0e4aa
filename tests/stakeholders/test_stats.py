"""C7's statistics against the simulated engine's judging truth (study.stakeholders.stats).

Frames come from the truth (tests.stakeholders.simulated_frames), whose judgements the
engine path reproduces (test_simulated_judge). Fits are kept small: each costs a
sampler compile and ~10 s of sampling here.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from study.stakeholders import stats
from tests.stakeholders.simulated_frames import engine, judgements, personas

FIT = {"draws": 500, "tune": 500, "chains": 2}


# -- alignment ----------------------------------------------------------------------------
def test_alignment_table_is_the_cell_mean_with_seeded_intervals_and_pooled_rows():
    frame = judgements(engine(), experiments=("e1", "e2"), persons=6, choices=3, rounds=2)
    table = stats.alignment_table(frame, draws=400, seed=5)
    assert table.equals(stats.alignment_table(frame, draws=400, seed=5))
    other = stats.alignment_table(frame, draws=400, seed=6)
    assert not np.allclose(table["lower"].to_numpy(), other["lower"].to_numpy())
    assert set(table["experiment"]) == {"e1", "e2", stats.POOLED}
    # Every (source, round) cell has its experiments and the pooled row: panel sources
    # rounds 0..2, `none` round 0 only.
    assert table.height == 3 * (2 * 3 + 1)
    for row in table.iter_rows(named=True):
        members = ["e1", "e2"] if row["experiment"] == stats.POOLED else [row["experiment"]]
        cell = frame.filter(
            pl.col("experiment").is_in(members)
            & (pl.col("source") == row["source"])
            & (pl.col("round") == row["round"])
        )
        assert row["alignment"] == pytest.approx(cell["logp"].mean(), abs=1e-12)
        assert row["lower"] < row["alignment"] < row["upper"]
        assert row["n_persons"] == 6 * len(members)
        assert row["n_items"] == 3 * row["n_persons"]
        assert row["n_personas"] == (1 if row["source"] == "none" else 3)


def test_bootstrap_of_one_experiment_does_not_depend_on_the_others():
    both = judgements(engine(), experiments=("e1", "e2"), persons=5, choices=2)
    alone = both.filter(pl.col("experiment") == "e1")
    key = ["source", "round", "lower", "upper"]
    from_both = stats.alignment_table(both, draws=300).filter(pl.col("experiment") == "e1")
    assert from_both.select(key).equals(stats.alignment_table(alone, draws=300).select(key))


def test_alignment_table_rejects_a_frame_without_its_columns():
    frame = judgements(engine(), persons=2, choices=1).drop("logp")
    with pytest.raises(Exception, match="logp"):
        stats.alignment_table(frame)


def _gain(**truth: float) -> dict:
    frame = judgements(engine(**truth), persons=30, choices=4, n_documents=4, n_generic=4)
    (row,) = stats.alignment_gain(frame, draws=1000, seed=1).iter_rows(named=True)
    return row


def test_alignment_gain_sees_document_personas_gain():
    row = _gain(judge_documents_gain=0.8, judge_generic_gain=0.0)
    assert row["round"] == 1 and row["n_persons"] == 30 and row["n_items"] == 120
    assert 0.0 < row["lower"] < row["gain"] < row["upper"]
    assert row["p_above_rope"] > 0.97


def test_alignment_gain_covers_zero_when_sources_are_equal():
    # No persona effects either: with them the gain would be the drawn personas' real
    # difference, which a bootstrap over persons (personas fixed) rightly does not cover.
    row = _gain(judge_documents_gain=0.3, judge_generic_gain=0.3, judge_sd_persona=0.0)
    assert row["lower"] < 0.0 < row["upper"]


def test_alignment_gain_is_the_paired_item_mean():
    frame = judgements(engine(), persons=4, choices=2, rounds=2)
    (row,) = stats.alignment_gain(frame, b="none", draws=200).iter_rows(named=True)
    documents = frame.filter((pl.col("source") == "documents") & (pl.col("round") == 2))
    none = frame.filter(pl.col("source") == "none")  # round 0 stands for every round
    per_item = (
        documents.group_by("item")
        .agg(pl.col("logp").mean())
        .join(none.select("item", pl.col("logp").alias("none")), on="item")
    )
    assert row["round"] == 2
    assert row["gain"] == pytest.approx((per_item["logp"] - per_item["none"]).mean(), abs=1e-12)


# -- decomposition ------------------------------------------------------------------------
IDENTIFIED = ("item", "persona", "persona:item")


def _realized(simulated, frame: pl.DataFrame, shrink: float) -> dict[str, float]:
    """The realized variances of the drawn effects behind ``frame`` (2 rounds), for the
    model without source and round terms; a persona's source gain joins its persona
    effect. A (persona, item) cell holds c + e0 and c * shrink + e1 (c: persona x item,
    e: per-round noise): the residual is its within-cell variance, 2 d**2 with
    d = (c (1 - shrink) + e0 - e1) / 2, and persona:item the variance of its cell means
    less what the residual puts there (half of it). The lone `none` judge, round 0 only,
    is left out of these two (40 of 520 rows)."""
    items = frame["item"].unique().to_list()
    sources = dict(zip(frame["persona"], frame["source"], strict=True))
    ids = [p for _, p in personas(3, 3)]

    def effects(p: str, i: str, r: int = 0):
        return simulated.judge_effects(i, sources[p], p, r)

    cells = [(effects(p, i), effects(p, i, 1)) for p in ids[:-1] for i in items]
    c = np.array([first.persona_item for first, _ in cells])
    e0 = np.array([first.noise for first, _ in cells])
    e1 = np.array([last.noise for _, last in cells])
    residual = 2 * np.mean(((c * (1 - shrink) + e0 - e1) / 2) ** 2)
    cell_means = c * (1 + shrink) / 2 + (e0 + e1) / 2
    return {
        "item": float(np.var([effects(ids[0], i).item for i in items])),
        "persona": float(
            np.var([effects(p, items[0]).persona + effects(p, items[0]).source for p in ids])
        ),
        "persona:item": float(np.var(cell_means) - residual / 2),
        stats.DECOMPOSITION_RESIDUAL: float(residual),
    }


def test_decomposition_recovers_the_realized_variances():
    shrink = 0.6
    simulated = engine(judge_debate_shrink=shrink, seed=3)
    frame = judgements(simulated, persons=10, choices=4, rounds=1)
    table = stats.decomposition(frame, seed=2, terms=IDENTIFIED, **FIT)
    assert table["passed"].all()
    assert table["component"].to_list() == [*IDENTIFIED, stats.DECOMPOSITION_RESIDUAL]
    assert table["share"].sum() == pytest.approx(1.0, abs=0.02)
    assert set(table["n_items"]) == {40} and set(table["n_personas"]) == {7}
    for component, truth in _realized(simulated, frame, shrink).items():
        row = table.row(by_predicate=pl.col("component") == component, named=True)
        assert row["variance_lower"] <= truth <= row["variance_upper"], (component, truth, row)


def test_decomposition_formula_names_every_factor_that_varies():
    frame = judgements(engine(), persons=2, choices=2, rounds=1)
    assert stats.decomposition_formula(frame) == (
        "logodds ~ 1 + (1|item) + (1|persona) + (1|persona:item) + (1|source) + (1|round)"
    )
    # The formula's names parse and the design builds (no sampling here).
    from study.variance.variance_model import VarianceModel

    model = VarianceModel(frame, stats.decomposition_formula(frame), residual="persona:item:round")
    assert model.layout.factors == stats.DECOMPOSITION_TERMS


# -- debate collapse ----------------------------------------------------------------------
@pytest.mark.parametrize(("shrink", "expected"), [(0.2, "yes"), (1.0, "no")])
def test_debate_collapse_sees_the_shrinkage(shrink, expected):
    simulated = engine(judge_debate_shrink=shrink, judge_sd_persona_item=0.6, judge_sd_noise=0.2)
    frame = judgements(simulated, persons=10, choices=4, rounds=1)
    (row,) = stats.debate_collapse(frame, seed=1, **FIT).iter_rows(named=True)
    assert row["passed_first"] and row["passed_last"]
    truth = (0.36 * shrink**2 + 0.04) / (0.36 + 0.04)
    assert row["lower"] <= truth <= row["upper"]
    assert row["collapsed"] == expected


def test_debate_collapse_without_debate_says_so():
    frame = judgements(engine(), persons=3, choices=2, rounds=0)
    (row,) = stats.debate_collapse(frame).iter_rows(named=True)
    assert row["collapsed"] == "no debate" and math.isnan(row["ratio"])


# -- verdict ------------------------------------------------------------------------------
def _gain_row(lower: float, upper: float, n_persons: int = 40) -> dict:
    return {"gain": (lower + upper) / 2, "lower": lower, "upper": upper, "n_persons": n_persons}


def _collapse_row(collapsed: str) -> dict:
    return {"ratio": 0.8, "lower": 0.6, "upper": 1.0, "threshold": 0.5, "collapsed": collapsed}


@pytest.mark.parametrize(
    ("gain", "collapsed", "expected"),
    [
        ((0.1, 0.3), "no", stats.HOLDS),
        ((0.1, 0.3), "yes", stats.FAILS),  # debate collapses
        ((-0.3, -0.1), "no", stats.FAILS),  # no gain
        ((-0.3, 0.0), "no", stats.FAILS),  # at or below the ROPE
        ((-0.3, -0.1), "failed", stats.FAILS),  # the gain alone fails the conjunction
        ((-0.1, 0.3), "no", stats.UNDECIDED),  # gain interval straddles the ROPE
        ((0.1, 0.3), "undecided", stats.UNDECIDED),
        ((0.1, 0.3), "failed", stats.UNDECIDED),  # a failed fit is never read
        ((0.1, 0.3), "no debate", stats.UNDECIDED),
        ((math.nan, math.nan), "no", stats.UNDECIDED),
    ],
)
def test_verdict_rules(gain, collapsed, expected):
    result, reason = stats.verdict(_gain_row(*gain), _collapse_row(collapsed))
    assert result == expected
    if math.isfinite(gain[0]):
        assert f"{gain[0]:+.3f}" in reason and f"{gain[1]:+.3f}" in reason


def test_verdict_with_a_rope_and_too_few_persons():
    assert stats.verdict(_gain_row(0.1, 0.3), _collapse_row("no"), rope=0.15)[0] == stats.UNDECIDED
    assert stats.verdict(_gain_row(0.1, 0.3), _collapse_row("no"), rope=0.05)[0] == stats.HOLDS
    small, reason = stats.verdict(_gain_row(-0.3, -0.1, n_persons=5), _collapse_row("yes"))
    assert small == stats.UNDECIDED and "5 persons" in reason
