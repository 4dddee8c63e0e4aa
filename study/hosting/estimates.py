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

The estimators' input rows come from study.hosting.observations; the verdicts, per row
and per model, from study.hosting.verdicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from study.errors import ConfigError, StudyInputError
from study.hosting.config import FitSettings
from study.hosting.observations import contrast_rows, crosstalk_rows, leakage_rows
from study.hosting.records import ALONE, COHOSTED, INTERLEAVED, PROBE
from study.hosting.verdicts import c4_verdict, row_verdict
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
        **settings.sampler(),
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
        **settings.sampler(),
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
                    **settings.sampler(),
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
            **settings.sampler(),
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
