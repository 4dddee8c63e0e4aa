"""Selecting a persona at test time (STUDY.md, "C5: personas fitted at test time").

Every candidate persona of the library is scored once over a participant's whole
transcript (one pass gives the NLL at every choice point), so fitting is bookkeeping on
those NLLs. Per person (experiment, participant; their sessions in order, choices in
order within each), the first K choices fit and the rest are held out:

- ``fitted_own``: the candidate with the lowest mean NLL on the person's first K;
- ``fitted_other``: the candidate fitted on a donor's first K, the donor another person
  of the same experiment drawn by a seeded derangement (study.personas.derangement over
  the persons themselves). The donor's candidate may be the person's own, and then the
  contrast is 0 for that person, as it should be: requiring it to differ (as the `other`
  condition requires of preambles) would bias the placebo whenever some candidates fit
  everyone better, since the fitted candidate is the generically good one more often
  than a candidate forced to differ from it (measured: docs/sections/fitted.md). A
  person alone in their experiment has no donor;
- ``oracle``: the candidate with the lowest mean NLL on the held-out choices, a ceiling
  and never a result.

Ties go to the candidate first in the library's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from study.errors import ConfigError
from study.personas.derangement import assign_donors
from study.records import Participant

PERSON = ["experiment", "participant"]
CONDITIONS = ("fitted_own", "fitted_other", "oracle")


@dataclass(frozen=True)
class Selection:
    # One row per (experiment, participant, candidate): nll_first_k, nll_heldout (means
    # per choice), selected (the person's fitted_own), oracle.
    candidates: pl.DataFrame
    # One row per held-out choice and condition (CONDITIONS): experiment, participant,
    # session, choice, condition, candidate, nll.
    heldout: pl.DataFrame
    # Persons without a fitted_other (alone in their experiment).
    undonored: tuple[tuple[str, str], ...]


def _ordered(scores: pl.DataFrame, first_k: Mapping[tuple[str, str], int]) -> pl.DataFrame:
    """Each row marked ``fit`` (among its person's first K choices) or held out."""
    ranked = scores.with_columns(
        pl.struct("session", "choice")
        .rank("dense")
        .over(PERSON, "candidate")
        .cast(pl.Int64)
        .alias("position")
    )
    persons = ranked.select(PERSON).unique()
    missing = [p for p in persons.iter_rows() if p not in first_k]
    if missing:
        raise ConfigError(f"no split given for persons {sorted(missing)[:3]}")
    split = pl.DataFrame(
        [{"experiment": e, "participant": p, "k": k} for (e, p), k in first_k.items()],
        schema={"experiment": pl.String, "participant": pl.String, "k": pl.Int64},
    )
    return ranked.join(split, on=PERSON).with_columns(fit=pl.col("position") <= pl.col("k"))


def _best(means: pl.DataFrame, column: str, order: Sequence[str]) -> pl.DataFrame:
    """Per person, the candidate with the lowest ``column``; ties to the first in
    ``order``."""
    rank = {name: i for i, name in enumerate(order)}
    ranked = means.with_columns(
        pl.col("candidate").replace_strict(rank, return_dtype=pl.Int64).alias("_order")
    )
    return (
        ranked.sort([*PERSON, column, "_order"])
        .group_by(PERSON, maintain_order=True)
        .first()
        .select(*PERSON, "candidate")
    )


def select_personas(
    scores: pl.DataFrame,
    first_k: Mapping[tuple[str, str], int],
    order: Sequence[str],
    *,
    seed: int,
) -> Selection:
    """The selection of the module doc from per-choice candidate NLLs ``scores``
    (experiment, participant, session, choice, candidate, nll); ``first_k``: per person
    the number of their first choices that fit; ``order``: the library's candidates."""
    unknown = set(scores["candidate"].unique().to_list()) - set(order)
    if unknown:
        raise ConfigError(f"candidates {sorted(unknown)} are not in the library's order")
    rows = _ordered(scores, first_k)
    means = rows.group_by(*PERSON, "candidate").agg(
        pl.col("nll").filter(pl.col("fit")).mean().alias("nll_first_k"),
        pl.col("nll").filter(~pl.col("fit")).mean().alias("nll_heldout"),
    )
    fitted = _best(means.drop_nulls("nll_first_k"), "nll_first_k", order)
    oracle = _best(means.drop_nulls("nll_heldout"), "nll_heldout", order)
    chosen = {(e, p): c for e, p, c in fitted.iter_rows()}
    # A derangement over persons: each person's "text" is the person, so every other
    # person of the experiment can donate, whatever candidate they fitted.
    stand_ins = [Participant(e, p, "") for e, p in chosen]
    donors = assign_donors(stand_ins, seed, lambda row: f"{row.experiment}\x1f{row.participant}")
    other = {}
    for row in stand_ins:
        donor = donors.of(row)
        if donor is not None:
            other[(row.experiment, row.participant)] = chosen[(donor.experiment, donor.participant)]
    by_condition = {
        "fitted_own": chosen,
        "fitted_other": other,
        "oracle": {(e, p): c for e, p, c in oracle.iter_rows()},
    }
    picks = pl.DataFrame(
        [
            {"experiment": e, "participant": p, "condition": condition, "candidate": c}
            for condition, picked in by_condition.items()
            for (e, p), c in picked.items()
        ],
        schema={
            "experiment": pl.String,
            "participant": pl.String,
            "condition": pl.String,
            "candidate": pl.String,
        },
    )
    heldout = (
        rows.filter(~pl.col("fit"))
        .join(picks, on=[*PERSON, "candidate"])
        .select(*PERSON, "session", "choice", "condition", "candidate", "nll")
        .sort(*PERSON, "condition", "session", "choice")
    )
    selected = fitted.with_columns(selected=pl.lit(True))
    best_heldout = oracle.with_columns(oracle=pl.lit(True))
    candidates = (
        means.join(selected, on=[*PERSON, "candidate"], how="left")
        .join(best_heldout, on=[*PERSON, "candidate"], how="left")
        .with_columns(pl.col("selected", "oracle").fill_null(False))
        .sort(*PERSON, "candidate")
    )
    return Selection(candidates, heldout, donors.undonored)
