"""C1, run vs persona: per model, the data-scale run share against the persona share.

Reads the `run_vs_persona` manifests; writes tables/c1_run_vs_persona.{csv,md,tex} and
figures/c1_shares.{png,pdf}. Run alone: python analysis/c1_run_vs_persona.py OUT
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from study.pipeline.outputs import read_manifests, save_figure, script_main, section, write_table
from study.pipeline.report import Block

ANALYSIS = "run_vs_persona"


def c1_table(manifests: list[dict]) -> pl.DataFrame:
    rows = []
    for manifest in manifests:
        c1 = json.loads((Path(manifest["steps"]["v1"]) / "c1.json").read_text())
        rows.append(
            {
                "model": manifest["model"]["name"],
                "run_share": c1["run_share"],
                "run_lower": c1["run_interval"][0],
                "run_upper": c1["run_interval"][1],
                "persona_share": c1["persona_share"],
                "persona_lower": c1["persona_interval"][0],
                "persona_upper": c1["persona_interval"][1],
                "p_run_ge_persona": c1["probability"],
                "c1_holds": c1["holds"],
                "diagnostics": "passed" if c1["passed"] else "FAILED",
            }
        )
    return pl.DataFrame(rows)


def shares_table(manifests: list[dict]) -> pl.DataFrame:
    frames = []
    for manifest in manifests:
        components = pl.read_csv(Path(manifest["steps"]["v1"]) / "components.csv")
        frames.append(
            components.select(
                pl.lit(manifest["model"]["name"]).alias("model"),
                "component",
                "data_share",
                "data_share_lower",
                "data_share_upper",
                "latent_share",
                "passed",
            )
        )
    return pl.concat(frames)


def make(root: Path) -> list[Block]:
    manifests = read_manifests(root, ANALYSIS)
    if not manifests:
        return []
    table = c1_table(manifests)
    shares = shares_table(manifests)
    write_table(table, root, "c1_run_vs_persona", "Data-scale run vs persona share per model")
    write_table(shares, root, "c1_shares", "V1 shares per model and component")

    models = shares["model"].unique(maintain_order=True).to_list()
    components = shares["component"].unique(maintain_order=True).to_list()
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.5 * len(components) * len(models)))
    height = 0.8 / len(models)
    for m, model in enumerate(models):
        part = shares.filter(pl.col("model") == model)
        y = np.arange(part.height) + m * height
        ax.barh(
            y,
            part["data_share"],
            height=height,
            label=model,
            xerr=[
                part["data_share"] - part["data_share_lower"],
                part["data_share_upper"] - part["data_share"],
            ],
        )
    ax.set_yticks(np.arange(len(components)) + 0.4 - height / 2, components)
    ax.set_xlabel("share of variance, data scale (94% interval)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = save_figure(fig, root, "c1_shares")

    lines = []
    for row in table.iter_rows(named=True):
        verdict = "holds" if row["c1_holds"] else "does not hold"
        failed = "" if row["diagnostics"] == "passed" else " (fit FAILED its diagnostics)"
        lines.append(
            f"- {row['model']}: C1 {verdict}: run share {row['run_share']:.3f} "
            f"[{row['run_lower']:.3f}, {row['run_upper']:.3f}] vs persona share "
            f"{row['persona_share']:.3f} [{row['persona_lower']:.3f}, {row['persona_upper']:.3f}],"
            f" P(run >= persona) = {row['p_run_ge_persona']:.3f}{failed}"
        )
    return section(
        root,
        "C1: run vs persona",
        [
            "Sampled responses under several personas; V1 splits whether the sample equals "
            "the human's response into person (experiment, participant), persona, "
            "person x persona, item "
            "and run. C1 holds when the data-scale run share is at least the persona share.",
            "\n".join(lines),
        ],
        table,
        "C1 per model",
        png,
        "Variance shares on the data scale",
    )


if __name__ == "__main__":
    script_main(make)
