"""T1 / C2, individuation: does the participant's own profile lower the NLL of their
choices? Per experiment and model: the Psych-201 paper's Cohen's d beside V2's
hierarchical profile benefit (none - own) and person-specific benefit (other - own).

Reads the `replicate_psych201` manifests; writes tables/t1_profile_benefit.{csv,md,tex}
and figures/t1_profile_benefit.{png,pdf}. Run alone: python analysis/t1_profile_benefit.py OUT
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from study.pipeline.outputs import read_manifests, save_figure, script_main, section, write_table
from study.pipeline.report import Block

ANALYSIS = "replicate_psych201"
POOLED = "(pooled)"


def model_rows(manifest: dict) -> pl.DataFrame:
    v2 = Path(manifest["steps"]["v2"])
    benefit = pl.read_csv(v2 / "benefit.csv")
    cohens = pl.read_csv(v2 / "cohens_d.csv").select("experiment", "d", "n_participants")

    def contrast(name: str, prefix: str) -> pl.DataFrame:
        return benefit.filter(pl.col("contrast") == name).select(
            "experiment",
            pl.col("mean").alias(prefix),
            pl.col("lower").alias(f"{prefix}_lower"),
            pl.col("upper").alias(f"{prefix}_upper"),
            pl.col("p_above_rope").alias(f"{prefix}_p_above_rope"),
            "passed",
        )

    profile = contrast("profile_benefit", "profile_benefit")
    specific = contrast("person_specific_benefit", "person_specific_benefit").drop("passed")
    table = profile.join(specific, on="experiment", how="left").join(
        cohens.rename({"d": "cohens_d"}), on="experiment", how="left"
    )
    return table.select(
        pl.lit(manifest["model"]["name"]).alias("model"),
        "experiment",
        "n_participants",
        "cohens_d",
        pl.exclude("experiment", "n_participants", "cohens_d", "passed"),
        pl.when(pl.col("passed"))
        .then(pl.lit("passed"))
        .otherwise(pl.lit("FAILED"))
        .alias("diagnostics"),
    )


def make(root: Path) -> list[Block]:
    manifests = read_manifests(root, ANALYSIS)
    if not manifests:
        return []
    table = pl.concat([model_rows(m) for m in manifests], how="diagonal_relaxed")
    write_table(
        table,
        root,
        "t1_profile_benefit",
        "Profile benefit per experiment and model (nats per choice; 94% intervals)",
    )
    per_experiment = table.filter(pl.col("experiment") != POOLED)
    models = table["model"].unique(maintain_order=True).to_list()
    experiments = per_experiment["experiment"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        1, 2, figsize=(9, 0.8 + 0.45 * len(experiments) * len(models)), sharey=True
    )
    step = 0.8 / max(len(models), 1)
    for m, model in enumerate(models):
        part = per_experiment.filter(pl.col("model") == model)
        y = np.array([experiments.index(e) for e in part["experiment"]]) + m * step
        for ax, prefix in zip(axes, ("profile_benefit", "person_specific_benefit"), strict=True):
            mean = part[prefix].to_numpy()
            ax.errorbar(
                mean,
                y,
                fmt="o",
                label=model,
                xerr=[
                    mean - part[f"{prefix}_lower"].to_numpy(),
                    part[f"{prefix}_upper"].to_numpy() - mean,
                ],
            )
    for ax, title in zip(
        axes, ("profile benefit: none - own", "person-specific: other - own"), strict=True
    ):
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("NLL difference, nats per choice")
    axes[0].set_yticks(np.arange(len(experiments)) + 0.4 - step / 2, experiments)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    png = save_figure(fig, root, "t1_profile_benefit")

    pooled = table.filter(pl.col("experiment") == POOLED)
    lines = []
    for row in pooled.iter_rows(named=True):
        failed = "" if row["diagnostics"] == "passed" else " (fit FAILED its diagnostics)"
        d = per_experiment.filter(pl.col("model") == row["model"])["cohens_d"]
        lines.append(
            f"- {row['model']}: pooled profile benefit {row['profile_benefit']:.4f} "
            f"[{row['profile_benefit_lower']:.4f}, {row['profile_benefit_upper']:.4f}], "
            f"person-specific benefit {row['person_specific_benefit']:.4f} "
            f"[{row['person_specific_benefit_lower']:.4f}, "
            f"{row['person_specific_benefit_upper']:.4f}] nats per choice; mean Cohen's d "
            f"over experiments {d.mean():.3f} (T1 expects within about 0.03 of 0){failed}"
        )
    return section(
        root,
        "T1 / C2: does the own profile help?",
        [
            "Every human response scored under no profile, the participant's own profile and "
            "another participant's profile (the placebo). Positive benefits mean the profile "
            "lowers the NLL. Cohen's d is the Psych-201 paper's statistic, over participants' "
            "mean NLL per choice.",
            "\n".join(lines),
        ],
        table,
        "Per experiment and model",
        png,
        "Profile and person-specific benefit per experiment",
    )


if __name__ == "__main__":
    script_main(make)
