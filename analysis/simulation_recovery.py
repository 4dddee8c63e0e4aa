"""Simulation: does V1 recover the simulated engine's known variance components?

Reads the `simulation` manifest; writes tables/simulation_recovery.{csv,md,tex} and
figures/simulation_recovery.{png,pdf}. Run alone: python analysis/simulation_recovery.py OUT
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl

from study.pipeline.evidence import count
from study.pipeline.outputs import read_manifests, save_figure, script_main, section, write_table
from study.pipeline.report import Block

ANALYSIS = "simulation"
# A V1 component's role -> the simulated engine's standard deviation behind it.
TRUTH_SD = {
    "person": "sd_person",
    "persona": "sd_persona",
    "person:persona": "sd_person_persona",
    "item": "sd_item",
}


PERSON_FACTORS = ("participant", "person")


def role(component: str) -> str | None:
    """The role of a V1 component whatever its person factor is called (``participant``
    or ``person``, the (experiment, participant) pair); None for the residual and the
    non-additive rows, which have no simulated truth.

    >>> [role(c) for c in ["participant", "person", "persona", "person:persona", "run"]]
    ['person', 'person', 'persona', 'person:persona', None]
    """
    if ":" in component:
        return "person:persona"
    if component in PERSON_FACTORS:
        return "person"
    return component if component in ("persona", "item") else None


def recovery_table(manifest: dict) -> pl.DataFrame:
    v1 = Path(manifest["steps"]["v1"])
    components = pl.read_csv(v1 / "components.csv")
    truth = manifest["truth"]
    realized_by_role = {role(name): value for name, value in manifest["realized"].items()}
    rows = []
    for component in components["component"]:
        if role(component) is None:
            continue
        row = components.filter(pl.col("component") == component).row(0, named=True)
        true_variance = float(truth[TRUTH_SD[str(role(component))]]) ** 2
        realized = realized_by_role[role(component)]
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
    longest = max(len(c) for c in table["component"])
    fig, ax = plt.subplots(figsize=(6 + 0.07 * longest, 3.6), layout="constrained")
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
    ax.invert_yaxis()  # the table's order, top to bottom
    ax.set_xlabel("variance (latent logit scale)")
    # Below the axes: a legend inside could hide the very points it explains.
    fig.legend(loc="outside lower center", fontsize=8, ncols=3)
    png = save_figure(fig, root, "simulation_recovery")
    covered = int(table["covers_true"].sum())
    realized = int(table["covers_realized"].sum())
    passed = bool((table["diagnostics"] == "passed").all())
    if passed:
        verdict = (
            f"Of {table.height} components, {covered} population variances and {realized} "
            "variances of the effects actually drawn lie inside their 94% intervals (a "
            "component with few levels, such as the items, can draw effects far from its "
            "population variance)."
        )
    else:
        verdict = "The fit FAILED its diagnostics: no recovery is claimed from it."
    samples = Path(manifests[0]["steps"]["respond"]) / "respond" / "samples.parquet"
    return section(
        root,
        "Ground truth: the simulation",
        [
            "Synthetic participants answered by the simulated engine, whose person, persona, "
            "person x persona and item variances are known. The check is recovery, not a "
            "claim about language models: each interval should cover its truth (in about "
            "94% of such data sets). " + verdict,
            f"Rests on: {count(pl.read_parquet(samples)).sentence()}.",
        ],
        table,
        "V1 estimates vs truth",
        png,
        "Estimated components (94% intervals) and truth",
    )


if __name__ == "__main__":
    script_main(make)
