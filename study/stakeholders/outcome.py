"""One model's C7 result from its judgements: alignment per source and round, the gain
of document over generic personas, the decomposition, debate collapse and the verdict
(study.stakeholders.stats), and the files the report reads."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from study.stakeholders import stats
from study.stakeholders.config import StakeholdersConfig
from study.stakeholders.sampled import sampled_shares


@dataclass
class StakeholdersOutcome:
    alignment: pl.DataFrame
    gain: pl.DataFrame
    shares: pl.DataFrame
    collapse: pl.DataFrame
    verdict: str
    reason: str
    # Persons, items, personas per source and rounds the result rests on.
    sizes: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every posterior behind the result passed its diagnostics gate."""
        reported = reported_fit(self.shares)
        shares_passed = bool(reported["passed"].all()) if reported.height else False
        collapsed = self.collapse["collapsed"].to_list() if self.collapse.height else []
        return shares_passed and "failed" not in collapsed

    def diagnostics(self) -> str:
        """The gate of each posterior, in words: the verdict rests on the gain (a
        bootstrap) and the collapse fits; the decomposition's shares are described, not
        decided on."""
        fits = self.shares.group_by("fit", maintain_order=True).agg(pl.col("passed").all())
        shares = "; ".join(
            f"decomposition ({fit}) {'passed' if ok else 'FAILED'}" for fit, ok in fits.rows()
        )
        collapsed = self.collapse["collapsed"].to_list() if self.collapse.height else []
        collapse = "FAILED" if "failed" in collapsed else "passed"
        return f"{shares}; collapse fits {collapse}"

    def save(self, path: Callable[[str], Path]) -> None:
        self.alignment.write_csv(path("alignment.csv"))
        self.gain.write_csv(path("gain.csv"))
        self.shares.write_csv(path("shares.csv"))
        self.collapse.write_csv(path("collapse.csv"))
        record = {
            "verdict": self.verdict,
            "reason": self.reason,
            "passed": self.passed,
            "diagnostics": self.diagnostics(),
            **self.sizes,
        }
        path("c7.json").write_text(json.dumps(record, indent=2) + "\n")


def sizes_of(judgements: pl.DataFrame) -> dict[str, Any]:
    """What a result rests on: persons, items, personas per source, debate rounds."""
    personas = judgements.group_by("source").agg(pl.col("persona").n_unique()).sort("source").rows()
    return {
        "n_persons": judgements.select("experiment", "participant").unique().height,
        "n_items": judgements["item"].n_unique(),
        "n_personas": dict(personas),
        "rounds": judgements["round"].max() if judgements.height else 0,
        "experiments": sorted(judgements["experiment"].unique().to_list()),
    }


# When the whole decomposition fails its gate, the terms a few levels can still estimate:
# a source (three levels, personas nested in it) and a round (two or three) leave their
# shares to the prior, and their effects are read from the alignment table instead.
IDENTIFIED_TERMS = ("item", "persona", "persona:item")


def reported_fit(shares: pl.DataFrame) -> pl.DataFrame:
    """Per model, the rows of the fit a reader should look at: the last one tried (the
    identified terms' after the whole decomposition failed)."""
    if shares.height == 0:
        return shares
    last = shares.group_by("model", "outcome", maintain_order=True).agg(pl.col("fit").last())
    return shares.join(last, on=["model", "outcome", "fit"], how="semi")


def shares_of(judgements: pl.DataFrame, **sampler: Any) -> pl.DataFrame:
    """The decomposition with every term (``fit`` "all terms"); when it fails its
    gate, also the fit of IDENTIFIED_TERMS (``fit`` "item, persona, persona:item"),
    whose persona share then includes the source's. Both are kept: the failed one is
    marked so."""
    labels = {"outcome": pl.lit("logodds")}
    whole = stats.decomposition(judgements, **sampler).with_columns(
        fit=pl.lit("all terms"), **labels
    )
    if whole["passed"].all():
        return whole
    fewer = stats.decomposition(judgements, terms=IDENTIFIED_TERMS, **sampler)
    return pl.concat([whole, fewer.with_columns(fit=pl.lit(", ".join(IDENTIFIED_TERMS)), **labels)])


def analyse(
    judgements: pl.DataFrame,
    settings: StakeholdersConfig,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    prob: float,
) -> StakeholdersOutcome:
    """C7 on one model's judgements (see the module doc)."""
    boots = settings.bootstrap
    alignment = stats.alignment_table(judgements, prob=prob, draws=boots, seed=seed)
    gain = stats.alignment_gain(judgements, rope=settings.rope, prob=prob, draws=boots, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a failed gate is recorded in the tables
        shares = shares_of(judgements, draws=draws, tune=tune, chains=chains, seed=seed, prob=prob)
        sampled = sampled_shares(
            judgements, settings.runs, draws=draws, tune=tune, chains=chains, seed=seed, prob=prob
        )
        if sampled.height:
            shares = pl.concat([shares, sampled.with_columns(outcome=pl.lit("sampled"))])
        collapse = stats.debate_collapse(
            judgements,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            prob=prob,
            threshold=settings.collapse_ratio,
        )
    verdict, reason = stats.verdict(
        gain.row(0, named=True),
        collapse.row(0, named=True),
        rope=settings.rope,
        min_persons=settings.min_persons,
    )
    sizes = {**sizes_of(judgements), "runs": settings.runs}
    return StakeholdersOutcome(alignment, gain, shares, collapse, verdict, reason, sizes)
