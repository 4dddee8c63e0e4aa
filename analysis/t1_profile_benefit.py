"""T1 / C2, individuation: does the participant's own profile lower the NLL of their
choices?

The headline is the Psych-201 paper's statistic, exactly (study.replication.t1): per
(model, experiment), Cohen's d between the unpaired arms `none` and `own` over all
response rows, with population SDs; per model, its mean over experiments against the
paper's band (within about 0.03 of 0) and its distribution (a box plot like the paper's
Fig. 5). Beside it, labelled as the package's own: V2's hierarchical profile benefit
(none - own) and person-specific benefit (other - own) with 94% intervals and their
ROPE verdicts, and the paired participant-level d.

Reads the `replicate_psych201` manifests; writes
- tables/t1_paper_d.{csv,md,tex}: model, experiment, mean_none, sd_none, n_none,
  mean_own, sd_own, n_own, d (one row per model and experiment with both arms);
- tables/t1_profile_benefit.{csv,md,tex}: model, experiment, cohens_d (the paper's d),
  n_none, n_own, then the package's own columns (paired_participant_d, V2's benefits);
- tables/t1_per_model.{csv,md,tex}: per model, the mean d and its band verdict, V2's
  pooled benefits with their ROPE verdicts, and the evidence counts;
- figures/t1_paper_d.{png,pdf} (box plot) and figures/t1_profile_benefit.{png,pdf} (V2).
Run alone: python analysis/t1_profile_benefit.py OUT
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.ticker import MaxNLocator

from study.pipeline.evidence import (
    Decision,
    count,
    decision_text,
    persons_without,
    rests_on,
    rope_verdict,
)
from study.pipeline.outputs import (
    pipeline_settings,
    read_manifests,
    save_figure,
    script_main,
    section,
    wrap_label,
    write_table,
)
from study.pipeline.report import Block, Figure, Table, Text
from study.replication.t1 import PAPER_BAND, experiments_without_own, paper_d, within_band

ANALYSIS = "replicate_psych201"
POOLED = "(pooled)"
CONTRASTS = {
    "profile_benefit": "profile benefit: none - own",
    "person_specific_benefit": "person-specific: other - own",
}


def scores_of(manifest: dict) -> pl.DataFrame:
    return pl.read_parquet(Path(manifest["steps"]["respond"]) / "respond" / "scores.parquet")


def paper_rows(manifest: dict, scores: pl.DataFrame) -> pl.DataFrame:
    """The paper's d per experiment of one model (t1_paper_d.csv's rows)."""
    table = paper_d(scores, source=f"{manifest['steps']['respond']}/respond/scores.parquet")
    return table.select(pl.lit(manifest["model"]["name"]).alias("model"), pl.all())


def v2_left_out(manifest: dict) -> list[str]:
    """V2's notes on the experiments it left out of a contrast, and why (``notes.json``
    of the V2 step; absent in steps made before V2 wrote it)."""
    path = Path(manifest["steps"]["v2"]) / "notes.json"
    return json.loads(path.read_text()) if path.exists() else []


def v2_rows(manifest: dict) -> pl.DataFrame:
    """V2's benefits, one row per experiment (and the pooled row), both contrasts side by
    side; ``v2_diagnostics`` is passed or FAILED."""
    benefit = pl.read_csv(Path(manifest["steps"]["v2"]) / "benefit.csv")
    parts = []
    for name in CONTRASTS:
        part = benefit.filter(pl.col("contrast") == name)
        parts.append(
            part.select(
                "experiment",
                pl.col("mean").alias(name),
                pl.col("lower").alias(f"{name}_lower"),
                pl.col("upper").alias(f"{name}_upper"),
                pl.col("p_above_rope").alias(f"{name}_p_above_rope"),
                pl.col("passed").alias(f"_{name}_passed"),
            )
        )
    table = parts[0].join(parts[1], on="experiment", how="full", coalesce=True)
    passed = pl.all_horizontal(pl.col("^_.*_passed$").fill_null(True))
    return table.with_columns(
        pl.when(passed).then(pl.lit("passed")).otherwise(pl.lit("FAILED")).alias("v2_diagnostics")
    ).select(pl.exclude("^_.*_passed$"))


def paired_rows(manifest: dict) -> pl.DataFrame:
    """The package's paired, participant-level d (study.variance.individuation), under a
    name that cannot be mistaken for the paper's."""
    cohens = pl.read_csv(Path(manifest["steps"]["v2"]) / "cohens_d.csv")
    named = {"d": "paired_participant_d", "n_participants": "paired_n_participants"}
    return cohens.select(
        "experiment", *(pl.col(k).alias(v) for k, v in named.items() if k in cohens.columns)
    )


def benefit_table(paper: pl.DataFrame, v2: pl.DataFrame, paired: pl.DataFrame) -> pl.DataFrame:
    """One model's t1_profile_benefit rows: the paper's d first, the package's own beside."""
    per_experiment = v2.filter(pl.col("experiment") != POOLED)
    return (
        paper.select("model", "experiment", pl.col("d").alias("cohens_d"), "n_none", "n_own")
        .join(paired, on="experiment", how="left")
        .join(per_experiment, on="experiment", how="left")
    )


def model_summary(
    model: str, paper: pl.DataFrame, v2: pl.DataFrame, scores: pl.DataFrame, rope: float
) -> dict:
    """One row of t1_per_model: the paper's per-model statistic, V2's pooled verdicts
    (FAILED when the fit failed its gate: never read as a result), the evidence."""
    d = paper["d"].to_numpy()
    evidence = count(scores)
    row: dict = {"model": model, "experiments_with_d": paper.height}
    # No experiment with both arms: no d, so no mean and no band verdict.
    for name, value in (
        ("mean_d", np.mean),
        ("median_d", np.median),
        ("min_d", np.min),
        ("max_d", np.max),
    ):
        row[name] = float(value(d)) if d.size else None
    row["in_paper_band"] = within_band(row["mean_d"]) if d.size else None
    pooled = v2.filter(pl.col("experiment") == POOLED)
    failed = pooled.height == 0 or pooled["v2_diagnostics"][0] != "passed"
    for name in CONTRASTS:
        values = pooled.row(0, named=True) if pooled.height else {}
        lower, upper = values.get(f"{name}_lower"), values.get(f"{name}_upper")
        row[name] = values.get(name)
        row[f"{name}_lower"] = lower
        row[f"{name}_upper"] = upper
        if failed or lower is None or upper is None:
            row[f"{name}_verdict"] = "FAILED"
        else:
            row[f"{name}_verdict"] = rope_verdict(lower, upper, rope).value
    row["v2_diagnostics"] = "FAILED" if failed else "passed"
    row["persons"] = evidence.persons
    row["persons_without_other"] = persons_without(scores, "other", having="own")
    row["choice_points"] = evidence.choice_points
    row["items"] = evidence.items
    return row


def box_plot(paper: pl.DataFrame, models: list[str], root: Path) -> Path:
    """The paper's Fig. 5 for these models: per model, a box of the per-experiment d,
    the experiments as points, the mean as a diamond, zero and the paper's band."""
    labels = [wrap_label(m, 24) for m in models]
    longest = max(len(line) for label in labels for line in label.splitlines())
    fig, ax = plt.subplots(
        figsize=(6.5 + 0.06 * longest, 1.4 + 0.55 * len(models)), layout="constrained"
    )
    ax.axvspan(-PAPER_BAND, PAPER_BAND, color="tab:green", alpha=0.15, lw=0)
    ax.axvline(0, color="grey", lw=0.8)
    data = [paper.filter(pl.col("model") == m)["d"].to_numpy() for m in models]
    ax.boxplot(data, orientation="horizontal", widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
    for i, values in enumerate(data, start=1):
        ax.scatter(
            values,
            i + rng.uniform(-0.15, 0.15, values.size),
            s=18,
            color="tab:blue",
            alpha=0.8,
            zorder=3,
            label="experiment" if i == 1 else None,
        )
        if values.size:
            ax.scatter(
                values.mean(),
                i,
                marker="D",
                s=40,
                color="black",
                zorder=4,
                label="mean over experiments" if i == 1 else None,
            )
    ax.set_yticks(range(1, len(models) + 1), labels)
    ax.invert_yaxis()  # the first model on top, as in the tables
    ax.set_xlabel("Cohen's d (none - own), per experiment")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=7))
    ax.set_title(
        f"The paper's statistic; shaded: its band for the mean (±{PAPER_BAND})", fontsize=10
    )
    fig.legend(fontsize=8, loc="outside lower center", ncols=2)
    return save_figure(fig, root, "t1_paper_d")


def v2_figure(table: pl.DataFrame, models: list[str], rope: float, root: Path) -> Path:
    """V2's per-experiment benefits with 94% intervals, one row per (experiment, model),
    the ROPE shaded. Sized by the number of rows and the longest label."""
    experiments = table["experiment"].unique(maintain_order=True).to_list()
    labels = [wrap_label(e, 24) for e in experiments]
    lines = max(len(label.splitlines()) for label in labels)
    row_height = max(0.28 * len(models), 0.22 * lines) + 0.2
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(10, 1.6 + row_height * len(experiments)),
        sharey=True,
        layout="constrained",
    )
    step = 0.6 / max(len(models), 1)
    for m, model in enumerate(models):
        part = table.filter(pl.col("model") == model).drop_nulls("profile_benefit")
        y = (
            np.array([experiments.index(e) for e in part["experiment"]])
            + (m - (len(models) - 1) / 2) * step
        )
        for ax, prefix in zip(axes, CONTRASTS, strict=True):
            mean = part[prefix].to_numpy()
            ax.errorbar(
                mean,
                y,
                fmt="o",
                ms=4,
                color=f"C{m}",
                label=model if prefix == "profile_benefit" else None,
                xerr=[
                    mean - part[f"{prefix}_lower"].to_numpy(),
                    part[f"{prefix}_upper"].to_numpy() - mean,
                ],
            )
    for ax, title in zip(axes, CONTRASTS.values(), strict=True):
        ax.axvspan(-rope, rope, color="grey", alpha=0.15, lw=0)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("nats per choice (94% interval)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # tick labels never touch
    axes[0].set_yticks(range(len(experiments)), labels, fontsize=9)
    axes[0].set_ylim(len(experiments) - 0.5, -0.5)
    fig.legend(loc="outside lower center", ncols=min(len(models), 4), fontsize=8)
    return save_figure(fig, root, "t1_profile_benefit")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def model_line(row: dict, rope: float) -> str:
    if row["mean_d"] is None:
        paper = "no experiment has own rows, so the paper's d is undefined"
    else:
        band = "inside" if row["in_paper_band"] else "OUTSIDE"
        paper = (
            f"the paper's mean d over {row['experiments_with_d']} experiments is "
            f"{row['mean_d']:.3f} ({band} the paper's band ±{PAPER_BAND}; per experiment "
            f"{row['min_d']:.3f} to {row['max_d']:.3f})"
        )
    if row["v2_diagnostics"] != "passed":
        v2 = "V2 (the package's own): FAILED its diagnostics, not interpreted"
    else:
        parts = []
        for name, title in (
            ("profile_benefit", "profile benefit"),
            ("person_specific_benefit", "person-specific benefit"),
        ):
            verdict = decision_text(Decision(row[f"{name}_verdict"]))
            parts.append(
                f"{title} {_fmt(row[name], 4)} [{_fmt(row[f'{name}_lower'], 4)}, "
                f"{_fmt(row[f'{name}_upper'], 4)}] nats per choice, {verdict}"
            )
        v2 = "V2 (the package's own), pooled: " + "; ".join(parts)
    return f"- **{row['model']}**: {paper}. {v2}."


def make(root: Path) -> list[Block]:
    manifests = read_manifests(root, ANALYSIS)
    if not manifests:
        return []
    rope = pipeline_settings(root).rope
    papers, benefits, summaries, left_out, v2_notes = [], [], [], [], []
    evidence = {}
    for manifest in manifests:
        model = manifest["model"]["name"]
        scores = scores_of(manifest)
        paper = paper_rows(manifest, scores)
        v2 = v2_rows(manifest)
        papers.append(paper)
        benefits.append(benefit_table(paper, v2, paired_rows(manifest)))
        summaries.append(model_summary(model, paper, v2, scores, rope))
        evidence[model] = count(scores)
        left_out += [f"{e} ({model})" for e in experiments_without_own(scores)]
        v2_notes += [f"{model}: {note}" for note in v2_left_out(manifest)]
    paper = pl.concat(papers, how="diagonal_relaxed")
    table = pl.concat(benefits, how="diagonal_relaxed")
    per_model = pl.DataFrame(summaries)
    write_table(paper, root, "t1_paper_d", "The paper's Cohen's d per model and experiment")
    write_table(table, root, "t1_profile_benefit", "Profile benefit per experiment and model")
    write_table(per_model, root, "t1_per_model", "T1 per model")
    models = [m["model"]["name"] for m in manifests]
    # No experiment with both arms (no profile fields anywhere): nothing to plot.
    box = box_plot(paper, models, root) if paper.height else None
    v2_png = v2_figure(table, models, rope, root) if table.height else None

    counts = {r["model"]: r["persons_without_other"] for r in summaries}
    if len(set(counts.values())) == 1:
        without_other = str(next(iter(counts.values())))
    else:
        without_other = ", ".join(f"{m}: {n}" for m, n in counts.items())
    notes = [
        "Every human response scored under no profile (`none`), the participant's own "
        "profile (`own`) and another participant's profile (`other`, the placebo). The "
        "headline is the Psych-201 paper's statistic, exactly: per experiment, Cohen's d "
        "between the unpaired arms none and own over all response rows (population SDs); "
        "per model, its mean over experiments (a point estimate: the paper gives it no "
        f"interval), which the paper finds within about {PAPER_BAND} of 0 for all 22 "
        "models. Positive d: the profile lowers the NLL. V2 and the paired participant-"
        "level d are the package's own, labelled as such; a V2 interval decides only when "
        f"it lies inside or wholly outside the ROPE ±{rope:g} nats per choice.",
        rests_on(evidence),
        f"Persons with a profile but without an `other` row (no participant of their "
        f"experiment has a different preamble, so no placebo exists): {without_other}.",
        "\n".join(model_line(row, rope) for row in summaries),
    ]
    if v2_notes:
        notes.append("V2 left out:\n" + "\n".join(f"- {note}" for note in v2_notes))
    if left_out:
        notes.append(
            "No d for experiments without `own` rows (no participant has a profile "
            f"field), left out: {', '.join(left_out)}."
        )
    more: list[Block] = [
        Table(table, "Per experiment and model: the paper's d (cohens_d), then the package's own")
    ]
    if v2_png is not None:
        more.append(
            Figure(
                str(v2_png.relative_to(root)),
                "V2: profile and person-specific benefit per experiment (94% intervals; "
                f"shaded: the ROPE ±{rope:g} nats)",
            )
        )
    more.append(
        Text(
            "Tables: `tables/t1_paper_d.csv` (the paper's statistic with its means, SDs and "
            "counts), `tables/t1_profile_benefit.csv`, `tables/t1_per_model.csv`."
        )
    )
    return section(
        root,
        "T1 / C2: does the own profile help?",
        notes,
        per_model.select(
            "model",
            "experiments_with_d",
            "mean_d",
            "in_paper_band",
            "profile_benefit",
            "profile_benefit_verdict",
            "person_specific_benefit",
            "person_specific_benefit_verdict",
            "v2_diagnostics",
        ),
        "Per model: the paper's mean d, and V2's pooled benefits (nats per choice)",
        box,
        f"The paper's d per experiment (points), per model (boxes; diamond: mean); shaded: "
        f"the paper's band ±{PAPER_BAND}",
        more=more,
    )


if __name__ == "__main__":
    script_main(make)
