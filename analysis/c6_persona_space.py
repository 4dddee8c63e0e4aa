"""C6, persona space: do a person's profile, a placebo, archetypes, role texts and the
Assistant occupy distinct places in the model's activations, does the Assistant sit apart
along one direction, and does a persona fade as the transcript grows?

Per model: the axis table per layer (cos with PC1 against its null, split-half
reliability, held-out AUROC, components to 70%), the drift slope of the projection on
the axis per condition, the behavioural washout slope per condition, and the T6 verdict
(study.pipeline.persona_space_fit.verdict) with the same-model check (the activations
engine's NLLs against the scoring engine's on the same choice points).

Reads the `persona_space` manifests; writes tables/c6_axis, tables/c6_drift,
tables/c6_washout, tables/c6_verdicts, tables/c6_steering (each .csv, .md, .tex) and
figures/c6_space, c6_axis, c6_drift, c6_washout, c6_steering (each .png, .pdf).
Run alone: python analysis/c6_persona_space.py OUT
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import polars as pl
from matplotlib.ticker import NullFormatter, ScalarFormatter

from study.pipeline.outputs import (
    manifest_tables,
    notes_text,
    read_manifests,
    save_figure,
    script_main,
    section,
    write_table,
)
from study.pipeline.persona_space_fit import EVERY_LAYER, MIDDLE_LAYER
from study.pipeline.report import Block, Figure, Heading, Table, Text

ANALYSIS = "persona_space"
STEP = "persona_space"
# Conditions drawn in their own colour; the archetypes share one, the roles are grey.
NAMED = {"none": "black", "own": "C0", "other": "C1", "assistant": "C3"}


def style(condition: str) -> dict[str, Any]:
    """How a condition is drawn: the named ones bold, archetypes green, roles faint."""
    if condition in NAMED:
        return {"color": NAMED[condition], "lw": 2.0, "alpha": 1.0, "zorder": 3}
    if condition.startswith("archetype:"):
        return {"color": "C2", "lw": 1.0, "alpha": 0.8, "zorder": 2}
    return {"color": "0.6", "lw": 0.6, "alpha": 0.6, "zorder": 1}


def _width(models: list[str]) -> float:
    # One model's panel alone still leaves room for a legend below it.
    return max(4.2 * len(models), 6.0)


def _panels(models: list[str], height: float = 3.2):
    fig, axes = plt.subplots(
        1, len(models), figsize=(_width(models), height), layout="constrained", squeeze=False
    )
    return fig, axes[0]


def space_figure(coordinates: pl.DataFrame, root: Path) -> Path:
    """Each condition's mean in the first two components of persona space (middle layer),
    one panel per model; the named conditions and archetypes labelled."""
    models = coordinates["model"].unique(maintain_order=True).to_list()
    fig, axes = _panels(models, 3.6)
    for ax, model in zip(axes, models, strict=True):
        rows = coordinates.filter(pl.col("model") == model)
        for row in rows.iter_rows(named=True):
            look = style(row["condition"])
            ax.scatter(row["pc1"], row["pc2"], s=24 if look["lw"] > 1 else 12, color=look["color"])
            if not row["condition"].startswith("role:"):
                ax.annotate(
                    row["condition"].removeprefix("archetype:"),
                    (row["pc1"], row["pc2"]),
                    fontsize=7,
                    xytext=(3, 3),
                    textcoords="offset points",
                    color=look["color"],
                )
        ax.set_title(f"{model}, layer {rows['layer'][0]}", fontsize=9)
        ax.set_xlabel("PC1 of the condition means", fontsize=8)
        ax.set_ylabel("PC2", fontsize=8)
    return save_figure(fig, root, "c6_space")


def axis_figure(axis: pl.DataFrame, root: Path) -> Path:
    """cos(axis, PC1) per layer against the null's 95th percentile and T6's thresholds."""
    models = axis["model"].unique(maintain_order=True).to_list()
    fig, axes = _panels(models)
    for ax, model in zip(axes, models, strict=True):
        rows = axis.filter(pl.col("model") == model).sort("layer")
        ax.plot(rows["layer"], rows["cos_pc1"], "o-", color="C3", ms=3, label="|cos(axis, PC1)|")
        ax.plot(rows["layer"], rows["null_upper"], "--", color="0.4", label="null, 95th pct")
        ax.plot(rows["layer"], rows["split_half_cos"], ":", color="C0", label="split-half cos")
        ax.axhline(MIDDLE_LAYER, color="C2", lw=0.8, label=f"T6 middle layer > {MIDDLE_LAYER}")
        ax.axhline(
            EVERY_LAYER, color="C2", lw=0.8, ls="-.", label=f"T6 every layer > {EVERY_LAYER}"
        )
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("layer", fontsize=8)
    axes[0].legend(fontsize=7, loc="lower left")
    return save_figure(fig, root, "c6_axis")


def curves_figure(
    table: pl.DataFrame, value: str, ylabel: str, root: Path, name: str, *, log_x: bool = False
) -> Path:
    """One line per condition of ``value`` against the choice index, one panel per model."""
    models = table["model"].unique(maintain_order=True).to_list()
    fig, axes = _panels(models)
    for ax, model in zip(axes, models, strict=True):
        rows = table.filter(pl.col("model") == model)
        for condition in rows["condition"].unique(maintain_order=True).to_list():
            curve = rows.filter(pl.col("condition") == condition).sort("index")
            look = style(condition)
            shown = condition in NAMED or condition.startswith("archetype:")
            ax.plot(
                curve["index"] + (1 if log_x else 0),
                curve[value],
                label=condition if shown and ax is axes[0] else None,
                **look,
            )
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("choice index k" + (" + 1 (log)" if log_x else ""), fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
    fig.legend(loc="outside lower center", ncols=4, fontsize=7)
    return save_figure(fig, root, name)


def steering_figure(dose: pl.DataFrame, root: Path) -> Path:
    """The dose-response of steering: option measures (top) and the NLL of the person's
    response (bottom) against alpha, one column per model; bars: ±1 SE over persons."""
    models = dose["model"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        2, len(models), figsize=(_width(models), 5.0), layout="constrained", squeeze=False
    )
    measures = {
        "p_response": "p(person's option)",
        "tv": "TV distance from α = 0",
        "on_options": "mass on the options",
    }
    for column, model in enumerate(models):
        rows = dose.filter(pl.col("model") == model).sort("alpha")
        top, bottom = axes[0][column], axes[1][column]
        for m, (name, label) in enumerate(measures.items()):
            if name in rows.columns and rows[name].is_not_null().any():
                top.errorbar(
                    rows["alpha"],
                    rows[name],
                    yerr=rows[f"{name}_se"],
                    marker="o",
                    ms=3,
                    color=f"C{m}",
                    label=label if column == 0 else None,
                    capsize=2,
                )
        bottom.errorbar(
            rows["alpha"],
            rows["nll"],
            yerr=rows["nll_se"],
            marker="o",
            ms=3,
            color="C3",
            capsize=2,
        )
        top.set_ylim(-0.05, 1.05)
        top.set_title(model, fontsize=9)
        bottom.set_xlabel("α (SDs of the projection on the axis)", fontsize=8)
        bottom.set_ylabel("NLL of the person's response", fontsize=8)
    fig.legend(loc="outside lower center", ncols=3, fontsize=7)
    return save_figure(fig, root, "c6_steering")


def steering_blocks(manifests: list[dict], root: Path) -> list[Block]:
    """The steering step's table, figure and sizes, when the run steered."""
    steered = [m for m in manifests if "steering" in m["steps"]]
    if not steered:
        return []
    dose = manifest_tables(steered, "steering", "dose.csv")
    write_table(dose, root, "c6_steering", "Steering along the assistant axis")
    figure = steering_figure(dose, root)
    persons = int(dose["n_persons"].max() or 0)
    return [
        Text(
            "Steering: α × the axis (α in standard deviations of the projection) added to "
            "the middle layer's output at every position of each person's unsteered "
            f"prompt ({persons} persons). With single-token options the option "
            "distribution is read at each choice point: the probability of the person's "
            "own option and the distance from the unsteered distribution. A flat curve "
            "means the axis carries nothing the model's answers use."
        ),
        Figure(str(figure.relative_to(root)), "Dose-response of steering along the axis"),
        Table(dose, "Steering: per α, means over persons (SE over persons)"),
    ]


def verdict_rows(manifests: list[dict]) -> tuple[pl.DataFrame, list[str], set[str]]:
    """Per model: the verdict and what it rests on, the report's lines, and the notes."""
    rows, lines, notes = [], [], set()
    for manifest in manifests:
        folder = Path(manifest["steps"][STEP])
        summary = json.loads((folder / "c6.json").read_text())
        notes |= set(json.loads((folder / "notes.json").read_text()))
        check = summary["same_model"]
        model = manifest["model"]["name"]
        rows.append(
            {
                "model": model,
                "verdict": summary["verdict"],
                "middle_layer": summary["middle_layer"],
                "n_persons": summary["n_persons"],
                "n_conditions": summary["n_conditions"],
                "n_choice_points": summary["n_choice_points"],
                "same_model_points": check["choice_points"],
                "same_model_max_abs_nll": check.get("max_abs_diff"),
                "fits_passed": summary["fits_passed"],
            }
        )
        same = (
            f"max |ΔNLL| {check['max_abs_diff']:.2g} nats over {check['choice_points']} choice "
            "points"
            if check["choice_points"]
            else "no choice point in common"
        )
        directions = (
            ", ".join(f"{n} {d}" for d, n in sorted(summary["drift_directions"].items()))
            if summary["drift_passed"]
            else "the fit FAILED its diagnostics, no direction is read"
        )
        faded = ", ".join(summary["washout_fading"])
        if not summary["washout_passed"]:
            fading = "the fit FAILED its diagnostics, nothing is read"
        elif faded:
            fading = f"the effect fades (slope's upper bound below 0) for {faded}"
        else:
            fading = "no persona's effect fades (no slope's upper bound below 0)"
        lines.append(
            f"- **{model}**: T6 {summary['verdict']}: {summary['reason']}. Rests on "
            f"{summary['n_persons']} persons, {summary['n_conditions']} conditions, "
            f"{summary['n_choice_points']} read-out choice points. Same model as the scores: "
            f"{same}. Drift (layer {summary['middle_layer']}): {directions}. Washout: "
            f"{fading}."
        )
    return pl.DataFrame(rows), lines, notes


def make(root: Path) -> list[Block]:
    every = read_manifests(root, ANALYSIS)
    skipped = [
        f"- **{m['model']['name']}**: not run: {m['skipped']}." for m in every if "skipped" in m
    ]
    manifests = [m for m in every if "skipped" not in m]
    if not manifests:
        return [Heading("C6: persona space"), Text("\n".join(skipped))] if skipped else []
    axis = manifest_tables(manifests, STEP, "axis.csv")
    drift = manifest_tables(manifests, STEP, "drift.csv")
    washout = manifest_tables(manifests, STEP, "washout.csv")
    verdicts, lines, notes = verdict_rows(manifests)
    write_table(axis, root, "c6_axis", "The assistant axis per layer")
    write_table(drift, root, "c6_drift", "Drift along the axis per condition")
    write_table(washout, root, "c6_washout", "Behavioural washout per condition")
    write_table(verdicts, root, "c6_verdicts", "T6 per model")
    space = space_figure(manifest_tables(manifests, STEP, "coordinates.csv"), root)
    drift_curves = curves_figure(
        manifest_tables(manifests, STEP, "trajectory.csv"),
        "projection",
        "mean projection on the axis",
        root,
        "c6_drift",
    )
    washout_curves = curves_figure(
        manifest_tables(manifests, STEP, "washout_curve.csv"),
        "gap",
        "mean |NLL_q − NLL_none| (nats)",
        root,
        "c6_washout",
        log_x=True,
    )
    figures = [
        Figure(str(path.relative_to(root)), caption)
        for path, caption in (
            (axis_figure(axis, root), "cos(axis, PC1) per layer against its null and T6"),
            (drift_curves, "The projection on the assistant axis along the transcript"),
            (washout_curves, "Behavioural washout: the persona's effect on the NLL"),
        )
    ]
    texts = [
        "Every person's transcript is read out under no persona, the own profile, a "
        "placebo profile (`other`), the archetypes, the Assistant's chat framing and the "
        "role texts of conf/persona_space/: the residual-stream state at the token before "
        "each choice, at every layer, from the weights that scored. The assistant axis is "
        "the Assistant's mean minus the other conditions' mean; T6 holds when its cosine "
        f"with PC1 is above {MIDDLE_LAYER} at the middle layer and above {EVERY_LAYER} at "
        "every layer. A verdict needs the axis to stand out from a null of random splits "
        "of the conditions and to be reproducible across halves of the persons "
        "(`persona_space.min_split_half`); otherwise it is `undecided` or `not met`.",
        "\n".join([*lines, *skipped]),
    ]
    texts += notes_text(notes)
    middle = axis.join(
        verdicts.select("model", pl.col("middle_layer").alias("layer")), on=["model", "layer"]
    )
    more: list[Block] = [
        *figures,
        Table(
            drift.select(
                "model", "condition", "slope", "lower", "upper", "direction", "diagnostics"
            ),
            "Drift: slope of the projection on the axis per choice index (94% interval)",
        ),
        Table(
            washout.select("model", "condition", "slope", "lower", "upper", "diagnostics"),
            "Washout: slope of |NLL_q − NLL_none| per log(k + 1) (94% interval)",
        ),
        *steering_blocks(manifests, root),
        Text(
            "Tables: `tables/c6_axis.csv` (every layer), `tables/c6_drift.csv`, "
            "`tables/c6_washout.csv`, `tables/c6_verdicts.csv`, `tables/c6_steering.csv`."
        ),
    ]
    return section(
        root,
        "C6: persona space",
        texts,
        middle,
        "The assistant axis at each model's middle layer (every layer: tables/c6_axis.csv)",
        space,
        "The conditions' means in the first two components of persona space (middle layer)",
        more=more,
    )


if __name__ == "__main__":
    script_main(make)
