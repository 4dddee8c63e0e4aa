"""C5's held-out comparison from one model's scores (STUDY.md, "C5: personas fitted at
test time").

The respond step scores every participant under ``none``, ``own`` and every candidate of
the persona library (as ``archetype:NAME`` conditions); here each person's choices are
split at K (:mod:`study.fitted.split`), the fitted persona, its placebo and the oracle
are selected on the NLLs (:mod:`study.fitted.selection`), and the cognitive model
(:mod:`study.cognitive`) is fitted on the same first K. Everything is compared on the
held-out choices only.

Statistics (V2's model, :func:`study.variance.individuation.individuation`, positive =
the fitted persona is better):

- ``fitted_person_specific``: NLL(fitted_other) - NLL(fitted_own), the person-specific
  benefit of the fitted persona;
- ``fitted_vs_own``: NLL(own) - NLL(fitted_own);
- ``fitted_vs_cognitive``: NLL(cognitive_model) - NLL(fitted_own);
- ``generated_person_specific``: NLL(generated_other) - NLL(generated_own), the
  person-specific benefit of the generated persona (study.fitted.generated), when the
  run generated personas (a contrast whose conditions have no rows is left out).

C5 holds for a model when both of the first two lie above the ROPE with probability
above 0.95 (pooled); it does not when the person-specific benefit's interval lies inside
the ROPE or below it; otherwise it is undecided at this size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from study.cognitive import CognitiveConfig, heldout_nll
from study.fitted.generated import SCORES_SCHEMA
from study.fitted.selection import PERSON, select_personas
from study.fitted.split import split_index
from study.pipeline.evidence import Decision, rope_verdict
from study.records import Participant
from study.variance.individuation import POOLED

CANDIDATE_PREFIX = "archetype:"
CONDITIONS = (
    "none",
    "own",
    "fitted_own",
    "fitted_other",
    "oracle",
    "cognitive_model",
    "generated_own",
    "generated_other",
)
CONTRASTS = {
    "fitted_person_specific": ("fitted_other", "fitted_own"),
    "fitted_vs_own": ("own", "fitted_own"),
    "fitted_vs_cognitive": ("cognitive_model", "fitted_own"),
    "generated_person_specific": ("generated_other", "generated_own"),
}
# STUDY.md: "above the ROPE with P > 0.95".
DECIDING_PROBABILITY = 0.95


@dataclass
class FittedResult:
    # Per experiment and pooled: condition, heldout_nll (mean per held-out choice),
    # n_persons, n_choices.
    conditions: pd.DataFrame
    # Per person and candidate: nll_first_k, nll_heldout, selected, oracle.
    candidates: pd.DataFrame
    # V2's table over CONTRASTS, its diagnostics and posterior.
    benefits: pd.DataFrame
    diagnostics: pd.DataFrame
    tree: Any
    verdict: str
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.benefits["passed"].all()) if len(self.benefits) else False

    def save(self, path_for: Callable[[str], Path]) -> None:
        from study.variance import save_tree

        self.conditions.to_csv(path_for("conditions.csv"), index=False, float_format="%.6g")
        self.candidates.to_csv(path_for("candidates.csv"), index=False, float_format="%.6g")
        self.benefits.to_csv(path_for("benefit.csv"), index=False, float_format="%.6g")
        self.diagnostics.to_csv(path_for("diagnostics.csv"), index=False, float_format="%.6g")
        save_tree(self.tree, path_for("posterior.nc"))
        path_for("c5.json").write_text(json.dumps({"verdict": self.verdict}, indent=2) + "\n")
        path_for("notes.json").write_text(json.dumps(self.notes, indent=2) + "\n")


def split_value(split: float) -> int | float:
    """``fitted.split`` as study.fitted.split reads it: a whole number of at least 1 is a
    count (YAML and the config schema carry it as a float), anything else a fraction.

    >>> split_value(10.0), split_value(0.5)
    (10, 0.5)
    """
    return int(split) if float(split).is_integer() and split >= 1 else split


def first_k(people: Sequence[Participant], split: float) -> dict[tuple[str, str], int]:
    """Per person, how many of their first choices (all sessions, in order) fit."""
    counts: dict[tuple[str, str], int] = {}
    for session in people:
        counts[session.person] = counts.get(session.person, 0) + len(session.choices)
    return {person: split_index(n, split_value(split)) for person, n in counts.items()}


def _positions(rows: pl.DataFrame, split: dict[tuple[str, str], int]) -> pl.DataFrame:
    """``rows`` (one condition per row) kept where held out: after the person's K."""
    ranked = rows.with_columns(
        pl.struct("session", "choice").rank("dense").over(*PERSON, "persona").alias("position")
    )
    k = pl.DataFrame(
        [{"experiment": e, "participant": p, "k": n} for (e, p), n in split.items()],
        schema={"experiment": pl.String, "participant": pl.String, "k": pl.Int64},
    )
    return ranked.join(k, on=PERSON).filter(pl.col("position") > pl.col("k")).drop("position", "k")


def cognitive_rows(
    people: Sequence[Participant], split: float, config: CognitiveConfig
) -> tuple[pl.DataFrame, list[str]]:
    """The cognitive model's held-out NLLs, one row per held-out choice. Persons with
    several sessions are left out (the models read one transcript), with a note."""
    sessions: dict[tuple[str, str], list[Participant]] = {}
    for session in people:
        sessions.setdefault(session.person, []).append(session)
    rows, notes = [], []
    # One note per (experiment, note) with its persons, not one line per person.
    noted: dict[tuple[str, str], list[str]] = {}
    for person, own in sessions.items():
        if len(own) > 1:
            notes.append(f"cognitive model: {person[0]}/{person[1]} left out (several sessions)")
            continue
        result = heldout_nll(own[0], split_value(split), config)
        for index, nll in zip(result.indices, result.nll, strict=True):
            rows.append(
                {
                    "experiment": person[0],
                    "participant": person[1],
                    "session": own[0].session,
                    "choice": int(index),
                    "persona": "cognitive_model",
                    "nll": float(nll),
                }
            )
        if result.note:
            noted.setdefault((person[0], result.note), []).append(person[1])
    for (experiment, note), persons in noted.items():
        who = persons[0] if len(persons) == 1 else f"{len(persons)} persons"
        notes.append(f"cognitive model, {experiment} ({who}): {note}")
    return pl.DataFrame(rows, schema=SCORES_SCHEMA), sorted(set(notes))


def condition_table(heldout: pl.DataFrame) -> pd.DataFrame:
    """Mean held-out NLL per experiment (and pooled over every held-out choice) and
    condition, with the persons and choices behind it."""
    summary = [
        heldout.group_by("experiment", "persona").agg(
            pl.col("nll").mean().alias("heldout_nll"),
            pl.struct(PERSON).n_unique().alias("n_persons"),
            pl.len().alias("n_choices"),
        ),
        heldout.group_by("persona")
        .agg(
            pl.col("nll").mean().alias("heldout_nll"),
            pl.struct(PERSON).n_unique().alias("n_persons"),
            pl.len().alias("n_choices"),
        )
        .with_columns(experiment=pl.lit(POOLED)),
    ]
    table = pl.concat(summary, how="diagonal").rename({"persona": "condition"})
    order = {c: i for i, c in enumerate(CONDITIONS)}
    table = table.with_columns(
        pl.col("condition").replace_strict(order, default=len(order)).alias("_order"),
        (pl.col("experiment") != POOLED).alias("_experiment_row"),
    ).sort("_experiment_row", "experiment", "_order")
    return table.select(
        "experiment", "condition", "heldout_nll", "n_persons", "n_choices"
    ).to_pandas()


def c5_verdict(benefits: pd.DataFrame, rope: float) -> str:
    """The model's verdict from V2's pooled rows (module doc)."""
    if not benefits["passed"].all():
        return "FAILED (the fit failed its diagnostics)"
    pooled = {
        str(row["contrast"]): row
        for row in benefits.to_dict("records")
        if row["experiment"] == POOLED
    }
    specific = pooled.get("fitted_person_specific")
    if specific is None:
        return "undecided (no placebo could be formed)"
    lower, upper = float(specific["lower"]), float(specific["upper"])
    if rope_verdict(lower, upper, rope) is Decision.INSIDE or upper < -rope:
        return "does not hold"
    own = pooled.get("fitted_vs_own")
    beats_own = own is not None and float(own["p_above_rope"]) > DECIDING_PROBABILITY
    if float(specific["p_above_rope"]) > DECIDING_PROBABILITY and beats_own:
        return "holds"
    return "undecided at this size"


def fitted_heldout(
    scores: pl.DataFrame,
    people: Sequence[Participant],
    library_order: Sequence[str],
    *,
    split: float,
    cognitive: CognitiveConfig,
    seed: int,
    rope: float,
    fit: Callable[..., Any],
    generated: pl.DataFrame | None = None,
) -> FittedResult:
    """Everything of the module doc; ``fit`` runs V2 (individuation with its sampler
    settings bound), so the pipeline and tests choose the posterior's size.
    ``generated``: the generated personas' NLLs over whole transcripts (experiment,
    participant, session, choice, persona generated_own/generated_other, nll), of
    which the held-out choices are compared."""
    from study.variance.individuation import Columns

    split_at = first_k(people, split)
    rows = scores.select(*PERSON, "session", "choice", "persona", "nll").with_columns(
        pl.col("session").cast(pl.Int64), pl.col("choice").cast(pl.Int64)
    )
    names = set(library_order)
    candidate_rows = rows.filter(pl.col("persona").str.starts_with(CANDIDATE_PREFIX)).with_columns(
        candidate=pl.col("persona").str.strip_prefix(CANDIDATE_PREFIX)
    )
    candidate_rows = candidate_rows.filter(pl.col("candidate").is_in(list(names)))
    selection = select_personas(candidate_rows.drop("persona"), split_at, library_order, seed=seed)
    notes = [
        f"fitted_other: {e}/{p} has no donor (alone in the experiment)"
        for e, p in selection.undonored
    ]
    plain = _positions(rows.filter(pl.col("persona").is_in(["none", "own"])), split_at)
    fitted = selection.heldout.select(
        *PERSON, "session", "choice", pl.col("condition").alias("persona"), "nll"
    )
    cognitive_heldout, cognitive_notes = cognitive_rows(people, split, cognitive)
    parts = [plain, fitted, cognitive_heldout]
    if generated is not None and generated.height:
        rows_generated = generated.select(*PERSON, "session", "choice", "persona", "nll")
        parts.append(
            _positions(
                rows_generated.with_columns(pl.col("session", "choice").cast(pl.Int64)), split_at
            )
        )
    heldout = pl.concat(parts, how="vertical_relaxed")
    present = set(heldout["persona"].unique().to_list())
    contrasts = {
        name: pair
        for name, pair in CONTRASTS.items()
        if not name.startswith("generated_") or set(pair) <= present
    }
    result = fit(
        heldout.filter(pl.col("persona") != "oracle"),
        columns=Columns(index="choice"),
        contrasts=contrasts,
        rope=rope,
    )
    return FittedResult(
        conditions=condition_table(heldout),
        candidates=selection.candidates.to_pandas(),
        benefits=result.table,
        diagnostics=result.diagnostics,
        tree=result.tree,
        verdict=c5_verdict(result.table, rope),
        notes=[*notes, *cognitive_notes, *result.notes],
    )
