"""C4's estimates from one model's hosting responses (study.hosting.respond's rows).

Statistics (STUDY.md, "C4: hosting several personas in one context"), each per
experiment and pooled, with a 94% interval and the counts it rests on:

- ``leakage`` (lambda): the co-hosted option log-odds as (1 - lambda) x those under the
  target's slot alone plus lambda x the mean of those under each partner's profile
  alone (study.hosting.leakage). Option log-odds: log p(option) - log p(first option)
  over the owner's option set, so a binary choice gives one coordinate; without an option
  set, the human response's log-probability.
- ``benefit_alone`` / ``benefit_cohosted``: NLL(other) - NLL(own), the person-specific
  benefit, with the target's slot alone and co-hosted (the co-hosted NLL of a choice is
  its mean over the co-hosted settings: K > 1, positions, partner rules); V2's model
  (study.variance.individuation).
- ``delta_nll``: NLL interleaved - NLL solo, over the target's own spans; V2's model.
- ``crosstalk_ratio``: CT/SS, the change of the probed choice's centred log option
  probabilities when the partner's last response is swapped (CT) over the change when
  the person's own last response is (SS), as a ratio of sums (study.hosting.crosstalk).
- ``persona_share_alone`` / ``persona_share_cohosted``: V1's data-scale persona share
  (person, persona = the target slot's content, person x persona, item; runs the
  residual) on sampled runs alone and co-hosted.

Verdicts per row (:func:`row_verdict`) follow STUDY.md's thresholds; the model's C4
verdict (:func:`c4_verdict`) combines the pooled rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from study.errors import ConfigError, StudyInputError
from study.hosting.records import ALONE, COHOSTED, CROSS, INTERLEAVED, PROBE, SELF, SOLO
from study.pipeline.evidence import Decision, decision_text, rope_verdict
from study.variance.individuation import POOLED

CONTRASTS = {
    "delta_nll": ("interleaved", "solo"),
    "benefit_alone": ("alone:other", "alone:own"),
    "benefit_cohosted": ("cohosted:other", "cohosted:own"),
}
PROB = 0.94
COLUMNS = [
    "design",
    "experiment",
    "statistic",
    "estimate",
    "lower",
    "upper",
    "n_persons",
    "n_choices",
    "verdict",
    "diagnostics",
]


FACTOR_COLUMNS = [
    "factor",
    "level",
    "estimate",
    "lower",
    "upper",
    "n_persons",
    "n_spans",
    "diagnostics",
]


@dataclass(frozen=True)
class FitSettings:
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    # ROPE of delta NLL and of the benefits, nats per choice (pipeline.rope).
    rope: float = 0.01
    # STUDY.md's thresholds (hosting.crosstalk_holds, hosting.blend).
    crosstalk_holds: float = 0.1
    blend: float = 0.25


@dataclass
class HostingEstimates:
    table: pd.DataFrame
    # Leakage per level of K, position and partner rule (pooled over experiments).
    factors: pd.DataFrame
    diagnostics: pd.DataFrame
    trees: dict[str, Any]
    counts: dict[str, int]
    # The model's C4 verdict (:func:`c4_verdict`) and the thresholds behind it.
    verdict: str
    settings: FitSettings
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool((self.table["diagnostics"] != "FAILED").all())

    def save(self, path_for: Callable[[str], Path]) -> None:
        from study.variance import save_tree

        self.table.to_csv(path_for("estimates.csv"), index=False, float_format="%.6g")
        self.factors.to_csv(path_for("factors.csv"), index=False, float_format="%.6g")
        self.diagnostics.to_csv(path_for("diagnostics.csv"), index=False, float_format="%.6g")
        for name, tree in self.trees.items():
            save_tree(tree, path_for(f"{name}.nc"))
        path_for("counts.json").write_text(json.dumps(self.counts, indent=2) + "\n")
        record = {"verdict": self.verdict, **asdict(self.settings)}
        path_for("c4.json").write_text(json.dumps(record, indent=2) + "\n")
        path_for("notes.json").write_text(json.dumps(self.notes, indent=2) + "\n")


# --- the rows each estimator reads ------------------------------------------------------

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


# --- verdicts -----------------------------------------------------------------------------


def row_verdict(statistic: str, lower: float, upper: float, settings: FitSettings) -> str:
    """One row's verdict from its interval (STUDY.md, C4's thresholds).

    >>> s = FitSettings()
    >>> row_verdict("crosstalk_ratio", 0.01, 0.05, s), row_verdict("leakage", 0.3, 0.5, s)
    ('holds (below 0.1)', 'fails (personas blend: above 0.25)')
    """
    if not np.isfinite(lower) or not np.isfinite(upper):
        return "no interval"
    if statistic in ("crosstalk_ratio", "leakage"):
        if lower > settings.blend:
            return f"fails (personas blend: above {settings.blend:g})"
        if statistic == "crosstalk_ratio" and upper < settings.crosstalk_holds:
            return f"holds (below {settings.crosstalk_holds:g})"
        if statistic == "leakage" and upper < settings.blend:
            return f"no blend (below {settings.blend:g})"
        return "undecided at this size"
    if statistic == "delta_nll":
        decision = rope_verdict(lower, upper, settings.rope)
        if decision is Decision.INSIDE:
            return "holds (inside the ROPE)"
        if decision is Decision.OUTSIDE:
            return "fails (outside the ROPE)"
        return "undecided at this size"
    if statistic.startswith("benefit"):
        return decision_text(rope_verdict(lower, upper, settings.rope))
    return "estimate (compare alone with co-hosted)"


def deciding_row(table: pd.DataFrame, statistic: str) -> pd.Series | None:
    """The row that decides ``statistic`` for a model: the pooled row, or, when one
    experiment has the statistic, that experiment's own. (A pooled row is the population
    mean over experiments; from one experiment its interval is the prior's spread
    between experiments, not evidence.)"""
    rows = table[table["statistic"] == statistic]
    experiments = rows[rows["experiment"] != POOLED]
    if len(experiments) == 1:
        return experiments.iloc[0]
    pooled = rows[rows["experiment"] == POOLED]
    return pooled.iloc[0] if len(pooled) else None


def c4_verdict(table: pd.DataFrame, settings: FitSettings) -> str:
    """The model's C4 verdict from its deciding rows (:func:`deciding_row`): holds when
    delta NLL's interval is inside the ROPE and CT/SS's upper bound below
    ``crosstalk_holds``; fails when leakage's or CT/SS's lower bound is above ``blend``;
    otherwise undecided."""

    def row(name: str) -> pd.Series | None:
        return deciding_row(table, name)

    needed = [row(name) for name in ("delta_nll", "crosstalk_ratio", "leakage")]
    if any(r is not None and r["diagnostics"] == "FAILED" for r in needed):
        return "FAILED (a fit failed its diagnostics)"
    delta, ratio, leakage = needed
    for blended in (ratio, leakage):
        if blended is not None and blended["lower"] > settings.blend:
            return "fails (the personas blend)"
    if delta is None or ratio is None:
        return "undecided (a design has no estimate)"
    inside = rope_verdict(delta["lower"], delta["upper"], settings.rope) is Decision.INSIDE
    if inside and ratio["upper"] < settings.crosstalk_holds:
        return "holds"
    return "undecided at this size"


# --- the fits ------------------------------------------------------------------------------


def _contrast_estimates(scores: pl.DataFrame, settings: FitSettings, out: _Collector) -> None:
    from study.variance.individuation import Columns, individuation

    rows = contrast_rows(scores)
    present = set(rows["persona"].unique().to_list())
    contrasts = {n: pair for n, pair in CONTRASTS.items() if set(pair) <= present}
    if not contrasts:
        out.notes.append("delta NLL and benefits: no design has both of its conditions")
        return
    result = individuation(
        rows,
        columns=Columns(index="choice"),
        contrasts=contrasts,
        rope=settings.rope,
        prob=PROB,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=settings.seed,
    )
    out.notes += result.notes
    out.add_fit("contrasts", result.tree, result.diagnostics)
    for row in result.table.to_dict("records"):
        design = "interleaved" if row["contrast"] == "delta_nll" else "cohosted"
        out.add(
            design,
            row["experiment"],
            row["contrast"],
            row["mean"],
            row["lower"],
            row["upper"],
            row["n_participants"],
            row["n_choices"],
            result.passed,
        )


def _leakage_estimates(scores: pl.DataFrame, settings: FitSettings, out: _Collector) -> None:
    from study.hosting.leakage import fit_leakage

    rows = leakage_rows(scores)
    if rows.height == 0:
        out.notes.append("leakage: no co-hosted span has all of its alone baselines")
        return
    result = fit_leakage(
        rows.select("experiment", "person", "span", "x", "y"),
        prob=PROB,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=settings.seed,
    )
    out.notes += result.notes
    out.add_fit("leakage", result.tree, result.diagnostics)
    for row in result.table.to_dict("records"):
        out.add(
            "cohosted",
            row["experiment"],
            "leakage",
            row["estimate"],
            row["lower"],
            row["upper"],
            row["n_persons"],
            row["n_rows"],
            result.passed,
        )
    _leakage_by_factor(rows, settings, out)


# The co-hosting factors (STUDY.md): leakage at each level of each, the others pooled.
FACTORS = ("k", "position", "partners")


def _leakage_by_factor(rows: pl.DataFrame, settings: FitSettings, out: _Collector) -> None:
    """Pooled leakage at each level of K, the target's position and the partner rule
    (one fit per level; a level that leaves no informative span is skipped)."""
    from study.hosting.leakage import fit_leakage

    for factor in FACTORS:
        for level in sorted(rows[factor].unique().to_list()):
            subset = rows.filter(pl.col(factor) == level)
            try:
                result = fit_leakage(
                    subset.select("experiment", "person", "span", "x", "y"),
                    prob=PROB,
                    draws=settings.draws,
                    tune=settings.tune,
                    chains=settings.chains,
                    seed=settings.seed,
                )
            except (ConfigError, StudyInputError) as error:
                out.notes.append(f"leakage at {factor} = {level}: not estimated ({error})")
                continue
            pooled = result.table[result.table["experiment"] == POOLED].iloc[0]
            out.factors.append(
                {
                    "factor": factor,
                    "level": str(level),
                    "estimate": float(pooled["estimate"]),
                    "lower": float(pooled["lower"]),
                    "upper": float(pooled["upper"]),
                    "n_persons": int(pooled["n_persons"]),
                    "n_spans": subset["span"].n_unique(),
                    "diagnostics": "passed" if result.passed else "FAILED",
                }
            )


def _crosstalk_estimates(scores: pl.DataFrame, settings: FitSettings, out: _Collector) -> None:
    from study.hosting.crosstalk import crosstalk_ratio

    rows = crosstalk_rows(scores)
    if rows.height == 0:
        out.notes.append("cross-talk: no probe (no discrete-option experiment with pairs)")
        return
    result = crosstalk_ratio(
        rows.select("experiment", "person", "ct", "ss"),
        prob=PROB,
    )
    out.notes += result.notes
    for row in result.table.to_dict("records"):
        out.add(
            "interleaved",
            row["experiment"],
            "crosstalk_ratio",
            row["estimate"],
            row["lower"],
            row["upper"],
            row["n_persons"],
            row["n_probes"],
            None,
        )


def _sampled_estimates(samples: pl.DataFrame, settings: FitSettings, out: _Collector) -> None:
    from study.pipeline.respond_steps import V1_FACTORS, person_column
    from study.variance import fit

    for design, statistic in ((ALONE, "persona_share_alone"), (COHOSTED, "persona_share_cohosted")):
        rows = samples.filter(pl.col("design") == design)
        if rows.height == 0 or rows["slot"].n_unique() < 2:
            out.notes.append(f"{statistic}: fewer than two personas sampled {design}")
            continue
        frame = rows.with_columns(
            person_column(),
            persona=pl.col("slot"),
            match=pl.col("match").cast(pl.Int64),
            item=pl.concat_str(
                pl.col("experiment"), pl.col("choice").cast(pl.String), separator=":"
            ),
        )
        result = fit(
            frame,
            outcome="match",
            factors=list(V1_FACTORS),
            family="bernoulli",
            residual="run",
            # Two persona levels leave the persona SD weakly identified, and its funnel
            # makes divergences common: a third attempt (target_accept 0.9875) usually
            # clears what the second (0.95) does not (the quick CPU run: 25, then 1).
            retries=2,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            seed=settings.seed,
        )
        statement = result.c1("persona")
        out.add_fit(f"v1_{design}", result.tree, result.diagnostics)
        out.add(
            "sampled",
            POOLED,
            statistic,
            statement.persona_share,
            *statement.persona_interval,
            frame.select("experiment", "participant").n_unique(),
            frame.select("experiment", "participant", "session", "choice").n_unique(),
            result.passed,
        )


@dataclass
class _Collector:
    settings: FitSettings
    rows: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: list[pd.DataFrame] = field(default_factory=list)
    trees: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Leakage per level of each co-hosting factor (:func:`_leakage_by_factor`).
    factors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, design, experiment, statistic, estimate, lower, upper, persons, n, passed):
        # None: an estimate without a sampler (CT/SS's t interval), nothing to diagnose.
        diagnostics = {True: "passed", False: "FAILED", None: "no sampler (t interval)"}[passed]
        verdict = row_verdict(statistic, lower, upper, self.settings)
        self.rows.append(
            {
                "design": design,
                "experiment": experiment,
                "statistic": statistic,
                "estimate": float(estimate),
                "lower": float(lower),
                "upper": float(upper),
                "n_persons": int(persons),
                "n_choices": int(n),
                "verdict": "FAILED" if passed is False else verdict,
                "diagnostics": diagnostics,
            }
        )

    def add_fit(self, name: str, tree: Any, diagnostics: pd.DataFrame) -> None:
        self.trees[name] = tree
        self.diagnostics.append(diagnostics.assign(fit=name))


def counts_of(scores: pl.DataFrame, samples: pl.DataFrame) -> dict[str, int]:
    """What the estimates rest on: persons, interleaved pairs, choices per design,
    probes, sampled runs."""
    person = ["experiment", "target"]
    return {
        "targets": scores.select(person).n_unique() if scores.height else 0,
        "experiments": scores["experiment"].n_unique() if scores.height else 0,
        "pairs": scores.filter(pl.col("design") == INTERLEAVED).select(person).n_unique(),
        "cohosted_prompts": scores.filter(pl.col("design") == COHOSTED)["name"].n_unique(),
        "cohosted_choices": scores.filter(pl.col("design") == COHOSTED).height,
        "interleaved_choices": scores.filter(pl.col("design") == INTERLEAVED).height,
        "leakage_spans": leakage_rows(scores)["span"].n_unique(),
        "probes": scores.filter((pl.col("design") == PROBE) & pl.col("probed")).height,
        "sampled_rows": samples.height,
        "runs": int(samples["run"].n_unique()) if samples.height else 0,
    }


def estimate_hosting(
    scores: pl.DataFrame, samples: pl.DataFrame, settings: FitSettings
) -> HostingEstimates:
    """Every statistic of the module doc that the responses allow; the ones they do not
    (no discrete options, no co-hosted prompt, ...) are named in ``notes``."""
    out = _Collector(settings)
    _contrast_estimates(scores, settings, out)
    _leakage_estimates(scores, settings, out)
    _crosstalk_estimates(scores, settings, out)
    _sampled_estimates(samples, settings, out)
    table = pd.DataFrame(out.rows, columns=COLUMNS)
    diagnostics = pd.concat(out.diagnostics, ignore_index=True) if out.diagnostics else None
    factors = pd.DataFrame(out.factors, columns=FACTOR_COLUMNS)
    return HostingEstimates(
        table=table,
        factors=factors,
        diagnostics=diagnostics if diagnostics is not None else pd.DataFrame(),
        trees=out.trees,
        counts=counts_of(scores, samples),
        verdict=c4_verdict(table, settings),
        settings=settings,
        notes=out.notes,
    )
