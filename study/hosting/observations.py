"""The observations each of C4's estimators reads, built from one model's hosting
responses (study.hosting.respond's rows): leakage's (x, y) per option coordinate, the
cross-talk changes per probed choice, and V2's NLL rows under condition names.

Option log-odds are log p(option) - log p(first option) over the span owner's option
set (a binary choice gives one coordinate; without an option set, the human response's
log-probability); a change of an option distribution is the L2 norm of the change of its
centred log-probabilities (invariant to which option comes first).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from study.hosting.records import ALONE, COHOSTED, CROSS, INTERLEAVED, PROBE, SELF, SOLO

_CHOICE = ["experiment", "target", "session", "choice"]


def _log_odds(row: dict[str, Any]) -> np.ndarray:
    """Option log-odds against the first option; the response's log-probability when
    the span has no option set."""
    if row["logprobs"] is None:
        return np.array([-row["nll"]])
    logprobs = np.asarray(row["logprobs"], dtype=float)
    return logprobs[1:] - logprobs[0]


def _centred(row: dict[str, Any]) -> np.ndarray:
    logprobs = np.asarray(row["logprobs"], dtype=float)
    return logprobs - logprobs.mean()


def leakage_rows(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per (co-hosted span, option coordinate): ``x`` = mean over the partners of
    (partner alone - target slot alone), ``y`` = co-hosted - target slot alone."""
    alone: dict[tuple, np.ndarray] = {}
    for row in scores.filter(pl.col("design") == ALONE).iter_rows(named=True):
        source = row["slots"] if row["slot"] == "partner" else row["slot"]
        alone[(*(row[c] for c in _CHOICE), row["slot"], source)] = _log_odds(row)
    rows: list[dict[str, Any]] = []
    for row in scores.filter(pl.col("design") == COHOSTED).iter_rows(named=True):
        where = tuple(row[c] for c in _CHOICE)
        target = alone.get((*where, row["slot"], row["slot"]))
        found = [
            alone.get((*where, "partner", partner))
            for slot, partner in enumerate(row["slots"].split(","))
            if slot != row["target_slot"]
        ]
        partners = [p for p in found if p is not None]
        if target is None or not partners or len(partners) < len(found):
            continue
        x = np.mean(np.stack(partners), axis=0) - target
        y = _log_odds(row) - target
        person = f"{row['experiment']}/{row['target']}"
        # The span's coordinates are one observation to the estimator (study.hosting.
        # leakage collapses them), so they share a key: the prompt, session and choice.
        span = f"{row['name']}|{row['session']}|{row['choice']}"
        for coordinate, (xi, yi) in enumerate(zip(x, y, strict=True)):
            rows.append(
                {
                    "experiment": row["experiment"],
                    "person": person,
                    "span": span,
                    "k": row["k"],
                    "position": row["position"],
                    "partners": row["partners"],
                    "coordinate": coordinate,
                    "x": float(xi),
                    "y": float(yi),
                }
            )
    schema = {
        "experiment": pl.String,
        "person": pl.String,
        "span": pl.String,
        "k": pl.Int64,
        "position": pl.String,
        "partners": pl.String,
        "coordinate": pl.Int64,
        "x": pl.Float64,
        "y": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def crosstalk_rows(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per probed choice with both swaps: ``ct`` and ``ss``, the L2 norms of the
    change of its centred log option probabilities from the unswapped interleaved
    prompt's."""
    base: dict[tuple, np.ndarray] = {}
    interleaved = scores.filter(
        (pl.col("design") == INTERLEAVED) & (pl.col("participant") == pl.col("target"))
    )
    for row in interleaved.filter(pl.col("logprobs").is_not_null()).iter_rows(named=True):
        base[tuple(row[c] for c in _CHOICE)] = _centred(row)
    changes: dict[tuple, dict[str, float]] = {}
    probes = scores.filter((pl.col("design") == PROBE) & pl.col("probed"))
    for row in probes.filter(pl.col("logprobs").is_not_null()).iter_rows(named=True):
        where = tuple(row[c] for c in _CHOICE)
        if where in base:
            change = float(np.linalg.norm(_centred(row) - base[where]))
            changes.setdefault(where, {})[row["swap"]] = change
    rows = [
        {
            "experiment": where[0],
            "person": f"{where[0]}/{where[1]}",
            "choice": where[3],
            "ct": swaps[CROSS],
            "ss": swaps[SELF],
        }
        for where, swaps in changes.items()
        if CROSS in swaps and SELF in swaps
    ]
    schema = {"experiment": pl.String, "person": pl.String, "choice": pl.Int64}
    return pl.DataFrame(rows, schema={**schema, "ct": pl.Float64, "ss": pl.Float64})


def contrast_rows(scores: pl.DataFrame) -> pl.DataFrame:
    """Long NLL rows for V2's model under the condition names of :data:`CONTRASTS`."""
    keys = ["experiment", "participant", "session", "choice"]
    own_spans = pl.col("participant") == pl.col("target")
    parts = [
        scores.filter((pl.col("design") == INTERLEAVED) & own_spans).with_columns(
            persona=pl.lit("interleaved")
        ),
        scores.filter(pl.col("design") == SOLO).with_columns(persona=pl.lit("solo")),
        scores.filter(
            (pl.col("design") == ALONE) & pl.col("slot").is_in(["own", "other"])
        ).with_columns(persona=pl.lit("alone:") + pl.col("slot")),
        scores.filter(pl.col("design") == COHOSTED)
        .group_by([*keys, "slot"])
        .agg(pl.col("nll").mean())
        .with_columns(persona=pl.lit("cohosted:") + pl.col("slot")),
    ]
    return pl.concat([p.select(*keys, "persona", "nll") for p in parts]).sort([*keys, "persona"])
