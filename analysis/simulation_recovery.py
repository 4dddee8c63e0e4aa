"""Simulation: does V1 recover the simulated engine's known variance components?

Reads the `simulation` manifest; writes tables/simulation_recovery.{csv,md,tex} and
figures/simulation_recovery.{png,pdf}. Run alone: python analysis/simulation_recovery.py OUT
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl

from study.pipeline.outputs import read_manifests, save_figure, script_main, section, write_table
from study.pipeline.report import Block

ANALYSIS = "simulation"
# V1 component -> the simulated engine's standard deviation behind it.
TRUTH_SD = {
    "person": "sd_person",
    "persona": "sd_persona",
    "person:persona": "sd_person_persona",
    "item": "sd_item",
}


def recovery_table(manifest: dict) -> pl.DataFrame:
    v1 = Path(manifest["steps"]["v1"])
    components = pl.read_csv(v1 / "components.csv")
    truth = manifest["truth"]
    rows = []
    for component, sd_key in TRUTH_SD.items():
        row = components.filter(pl.col("component") == component).row(0, named=True)
        true_variance = float(truth[sd_key]) ** 2
        realized = manifest["realized"][component]
        low, high = row["variance_lower"], row["variance_upper"]
        rows.append(
            {
                "component": component,
                "true_variance": true_variance,
                "realized_variance": realized,
                "estimate": row["variance"],
                "lower": low,
                "upper": high,
                "covers_true": low <= true_variance <= high,
                "covers_realized": low <= realized <= high,
                "diagnostics": "passed" if row["passed"] else "FAILED",
            }
        )
    return pl.DataFrame(rows)


def make(root: Path) -> list[Block]:
    manifests = read_manifests(root, ANALYSIS)
    if not manifests:
        return []
    table = recovery_table(manifests[0])
    write_table(table, root, "simulation_recovery", "V1 estimates vs the simulated truth")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    y = range(table.height)
    ax.errorbar(
        table["estimate"],
        y,
        xerr=[table["estimate"] - table["lower"], table["upper"] - table["estimate"]],
        fmt="o",
        label="posterior mean, 94% interval",
    )
    ax.scatter(
        table["true_variance"],
        y,
        marker="x",
        color="crimson",
        zorder=3,
        label="population variance",
    )
    ax.scatter(
        table["realized_variance"],
        y,
        marker="+",
        s=80,
        color="black",
        zorder=3,
        label="variance of the drawn effects",
    )
    ax.set_yticks(list(y), table["component"].to_list())
    ax.set_xlabel("variance (latent logit scale)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    png = save_figure(fig, root, "simulation_recovery")
    covered = int(table["covers_true"].sum())
    realized = int(table["covers_realized"].sum())
    passed = bool((table["diagnostics"] == "passed").all())
    verdict = "" if passed else " The fit FAILED its diagnostics: do not interpret these numbers."
    return section(
        root,
        "Ground truth: the simulation",
        [
            f"Synthetic participants answered by the simulated engine, whose person, persona, "
            f"person x persona and item variances are known. Of {table.height} components, "
            f"{covered} population variances and {realized} variances of the effects "
            f"actually drawn lie inside their 94% intervals (a component with few levels, "
            f"such as the items, can draw effects far from its population variance)."
            f"{verdict}",
        ],
        table,
        "V1 estimates vs truth",
        png,
        "Estimated components (94% intervals) and truth",
    )


if __name__ == "__main__":
    script_main(make)
