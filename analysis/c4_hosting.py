"""C4, hosting: can one model instance host several personas at once?

Per model, the estimates of study.hosting.estimates (leakage, the person-specific benefit
alone and co-hosted, delta NLL interleaved - solo, CT/SS, the persona share alone and
co-hosted), each per experiment and pooled with its 94% interval, its verdict and the
persons it rests on; then the model's C4 verdict (STUDY.md: holds when delta NLL lies
inside the ROPE and CT/SS's upper bound is below 0.1; fails when leakage or CT/SS is
above 0.25). A fit that failed its diagnostics is marked FAILED and decides nothing.

Reads the `hosting` manifests; writes tables/c4_hosting.{csv,md,tex},
tables/c4_verdicts, tables/c4_leakage_factors, tables/c4_cost (each .csv, .md, .tex)
and figures/c4_hosting.{png,pdf}, figures/c4_leakage.{png,pdf}.
Run alone: python analysis/c4_hosting.py OUT
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from study.hosting.observations import leakage_rows
from study.pipeline.outputs import (
    read_manifests,
    save_figure,
    script_main,
    section,
    write_table,
)
from study.pipeline.report import Block, Figure, Table, Text

ANALYSIS = "hosting"
# The statistics in the order the report shows them, with their axis labels.
STATISTICS = {
    "leakage": "leakage λ",
    "crosstalk_ratio": "CT/SS",
    "delta_nll": "ΔNLL interleaved − solo (nats)",
    "benefit_alone": "other − own, alone (nats)",
    "benefit_cohosted": "other − own, co-hosted (nats)",
    "persona_share_alone": "persona share, alone",
    "persona_share_cohosted": "persona share, co-hosted",
}


def _fit_folder(manifest: dict) -> Path:
    return Path(manifest["steps"]["fit"])


def estimates_table(manifests: list[dict]) -> pl.DataFrame:
    frames = []
    for manifest in manifests:
        table = pl.read_csv(_fit_folder(manifest) / "estimates.csv")
        frames.append(table.select(pl.lit(manifest["model"]["name"]).alias("model"), pl.all()))
    return pl.concat(frames, how="diagonal_relaxed")


def factors_table(manifests: list[dict]) -> pl.DataFrame:
    """Leakage per level of K, the target's position and the partner rule."""
    frames = []
    for manifest in manifests:
        path = _fit_folder(manifest) / "factors.csv"
        table = pl.read_csv(path, schema_overrides={"level": pl.String})
        frames.append(table.select(pl.lit(manifest["model"]["name"]).alias("model"), pl.all()))
    return pl.concat(frames, how="diagonal_relaxed")


def cost_table(manifests: list[dict]) -> pl.DataFrame:
    """Per model and design: requests, scored choices, prompt tokens and tokens the
    engine evaluated (one pass per request: their ratio is 1 unless a prompt outgrew
    the context window and rolled)."""
    frames = []
    for manifest in manifests:
        scores = pl.read_parquet(Path(manifest["steps"]["respond"]) / "scores.parquet")
        requests = scores.group_by("request_key", "design").agg(
            pl.len().alias("choices"),
            pl.col("prompt_tokens").first(),
            pl.col("tokens_evaluated").first(),
        )
        frames.append(
            requests.group_by("design")
            .agg(
                pl.len().alias("requests"),
                pl.col("choices").sum().alias("scored_choices"),
                pl.col("prompt_tokens").sum(),
                pl.col("tokens_evaluated").sum(),
            )
            .with_columns(
                evaluated_per_prompt_token=pl.col("tokens_evaluated") / pl.col("prompt_tokens"),
                evaluated_per_choice=pl.col("tokens_evaluated") / pl.col("scored_choices"),
            )
            .sort("design")
            .select(pl.lit(manifest["model"]["name"]).alias("model"), pl.all())
        )
    return pl.concat(frames)


def verdicts_table(manifests: list[dict]) -> pl.DataFrame:
    rows = []
    for manifest in manifests:
        folder = _fit_folder(manifest)
        counts = json.loads((folder / "counts.json").read_text())
        rows.append(
            {
                "model": manifest["model"]["name"],
                "c4": json.loads((folder / "c4.json").read_text())["verdict"],
                "targets": counts["targets"],
                "experiments": counts["experiments"],
                "pairs": counts["pairs"],
                "probes": counts["probes"],
                "cohosted_choices": counts["cohosted_choices"],
                "interleaved_choices": counts["interleaved_choices"],
                "runs": counts["runs"],
            }
        )
    return pl.DataFrame(rows)


def forest_figure(table: pl.DataFrame, root: Path) -> Path | None:
    """One panel per statistic: each experiment's and the pooled estimate with its
    interval, one colour per model; the thresholds and the ROPE where they apply."""
    shown = [s for s in STATISTICS if s in set(table["statistic"].to_list())]
    if not shown:
        return None
    models = table["model"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        len(shown), 1, figsize=(7.5, 1.2 + 1.35 * len(shown)), layout="constrained", squeeze=False
    )
    for ax, statistic in zip(axes[:, 0], shown, strict=True):
        rows = table.filter(pl.col("statistic") == statistic)
        labels = rows["experiment"].unique(maintain_order=True).to_list()
        for m, model in enumerate(models):
            part = rows.filter(pl.col("model") == model)
            y = np.array([labels.index(e) for e in part["experiment"]]) + 0.25 * m
            finite = (part["lower"].is_finite() & part["upper"].is_finite()).fill_null(False)
            part, y = part.filter(finite), y[finite.to_numpy()]
            ax.errorbar(
                part["estimate"],
                y,
                xerr=[part["estimate"] - part["lower"], part["upper"] - part["estimate"]],
                fmt="o",
                ms=4,
                label=model if statistic == shown[0] else None,
                color=f"C{m}",
            )
        ax.axvline(0.0, color="0.6", lw=0.8)
        ax.set_yticks(np.arange(len(labels)) + 0.125 * (len(models) - 1), labels, fontsize=8)
        ax.set_ylim(len(labels) - 0.4, -0.6)
        ax.set_xlabel(STATISTICS[statistic], fontsize=9)
    fig.legend(loc="outside lower center", ncols=min(len(models), 4), fontsize=8)
    return save_figure(fig, root, "c4_hosting")


def leakage_figure(manifests: list[dict], root: Path) -> Path | None:
    """Per model, each co-hosted option log-odds' shift from the target's slot alone (y)
    against the partners' alone shift (x): leakage lambda is the slope (0: the target's
    persona is untouched; 1: the partners' replace it)."""
    panels = []
    for manifest in manifests:
        scores = pl.read_parquet(Path(manifest["steps"]["respond"]) / "scores.parquet")
        rows = leakage_rows(scores)
        if rows.height:
            panels.append((manifest["model"]["name"], rows))
    if not panels:
        return None
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.6 * len(panels), 3.4), layout="constrained", squeeze=False
    )
    for ax, (model, rows) in zip(axes[0], panels, strict=True):
        for e, experiment in enumerate(rows["experiment"].unique(maintain_order=True)):
            part = rows.filter(pl.col("experiment") == experiment)
            ax.scatter(part["x"], part["y"], s=6, alpha=0.5, color=f"C{e}", label=experiment)
        reach = float(max(rows["x"].abs().max() or 1.0, 1e-6))  # type: ignore[arg-type]
        line = np.array([-reach, reach])
        ax.plot(line, line, color="0.5", lw=0.8, ls="--", label="λ = 1")
        ax.axhline(0.0, color="0.5", lw=0.8, label="λ = 0")
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("partners alone − target alone", fontsize=8)
        ax.set_ylabel("co-hosted − target alone", fontsize=8)
    axes[0][0].legend(fontsize=6)
    return save_figure(fig, root, "c4_leakage")


def model_line(row: dict) -> str:
    return (
        f"- **{row['model']}**: C4 {row['c4']} ({row['targets']} persons in "
        f"{row['experiments']} experiments, {row['pairs']} interleaved pairs, "
        f"{row['probes']} cross-talk probe prompts, {row['cohosted_choices']} co-hosted and "
        f"{row['interleaved_choices']} interleaved scored choices, {row['runs']} runs)"
    )


def make(root: Path) -> list[Block]:
    manifests = read_manifests(root, ANALYSIS)
    if not manifests:
        return []
    # The thresholds the fits decided with (the same for every model of one job).
    settings = json.loads((_fit_folder(manifests[0]) / "c4.json").read_text())
    table = estimates_table(manifests)
    verdicts = verdicts_table(manifests)
    write_table(table, root, "c4_hosting", "C4 estimates per model, design and experiment")
    write_table(verdicts, root, "c4_verdicts", "C4 verdict per model")
    factors = factors_table(manifests)
    write_table(factors, root, "c4_leakage_factors", "Leakage per co-hosting factor level")
    cost = cost_table(manifests)
    write_table(cost, root, "c4_cost", "Tokens evaluated per design")
    # A fit that failed its diagnostics is in the table, marked, but never drawn.
    forest = forest_figure(table.filter(pl.col("diagnostics") != "FAILED"), root)
    scatter = leakage_figure(manifests, root)
    notes = sorted(
        {
            note
            for manifest in manifests
            for note in json.loads((_fit_folder(manifest) / "notes.json").read_text())
        }
    )
    texts = [
        "Co-hosted: the target's profile among K − 1 other persons' profiles of the same "
        "experiment, each under a label, the transcript attributed to the target's label "
        "(K = 1 is the same format alone). Leakage λ is the slope of the co-hosted option "
        "log-odds' shift on the partners' alone shift (0: no leakage). Interleaved: two "
        "persons' trials alternate under their labels; ΔNLL compares each person's "
        "responses with the same format alone; CT/SS is how much swapping the partner's "
        "last response moves the person's next choice, relative to swapping the person's "
        "own. Sampled: V1's persona share alone vs co-hosted. C4 holds when ΔNLL's "
        f"interval lies inside the ROPE ±{settings['rope']:g} nats and CT/SS's upper bound "
        f"is below {settings['crosstalk_holds']:g}; it fails when λ or CT/SS lies above "
        f"{settings['blend']:g}; otherwise undecided at this size.",
        "\n".join(model_line(row) for row in verdicts.iter_rows(named=True)),
    ]
    if notes:
        texts.append("Notes:\n" + "\n".join(f"- {note}" for note in notes))
    more: list[Block] = [
        Table(table, "Every C4 estimate (94% intervals)"),
        Table(
            factors,
            "Leakage λ at each level of K, the target's position and the partner rule "
            "(pooled over experiments, 94% intervals)",
        ),
        Table(
            cost,
            "Cost: tokens the engine evaluated per design (one pass per prompt: about 1 "
            "per prompt token)",
        ),
    ]
    if scatter is not None:
        more.append(
            Figure(
                str(scatter.relative_to(root)),
                "Leakage: co-hosted shift against the partners' shift, per option log-odds",
            )
        )
    more.append(
        Text(
            "Tables: `tables/c4_hosting.csv`, `tables/c4_verdicts.csv`, "
            "`tables/c4_leakage_factors.csv`, `tables/c4_cost.csv`."
        )
    )
    return section(
        root,
        "C4: hosting",
        texts,
        verdicts,
        "C4 per model",
        forest,
        "C4 estimates per experiment and pooled, 94% intervals (fits that passed their "
        "diagnostics)",
        more=more,
    )


if __name__ == "__main__":
    script_main(make)
