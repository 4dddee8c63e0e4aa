"""C5, fitted personas: does a persona fitted on a person's own first choices predict
the rest better than the profile, a placebo fitted on someone else and a cognitive model?

Per model: the mean held-out NLL per condition (none, own, fitted_own, fitted_other,
the oracle ceiling, the cognitive model, and generated_own/generated_other when the run
generated personas) per experiment and pooled; every candidate's
NLL on the first K and held out; V2's benefits of the fitted persona over its placebo,
the own profile and the cognitive model; the model's verdict (study.fitted.heldout).

Reads the `fitted_personas` manifests; writes tables/c5_fitted_personas,
tables/c5_candidates, tables/c5_benefits (each .csv, .md, .tex) and
figures/c5_fitted_personas.{png,pdf}. Run alone: python analysis/c5_fitted_personas.py OUT
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from study.fitted.heldout import CONDITIONS
from study.pipeline.outputs import (
    manifest_tables,
    notes_text,
    read_manifests,
    save_figure,
    script_main,
    section,
    write_table,
)
from study.pipeline.report import Block, Table, Text

ANALYSIS = "fitted_personas"


def _folder(manifest: dict) -> Path:
    return Path(manifest["steps"]["fitted"])


def _tables(manifests: list[dict], name: str) -> pl.DataFrame:
    return manifest_tables(manifests, "fitted", name)


def conditions_figure(table: pl.DataFrame, root: Path) -> Path:
    """Held-out NLL per condition (rows), one panel per experiment, one colour per model;
    the oracle is drawn hollow: a ceiling, not a result."""
    experiments = table["experiment"].unique(maintain_order=True).to_list()
    models = table["model"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        1,
        len(experiments),
        figsize=(3.3 * len(experiments), 3.2),
        layout="constrained",
        squeeze=False,
        sharey=True,
    )
    for ax, experiment in zip(axes[0], experiments, strict=True):
        rows = table.filter(pl.col("experiment") == experiment)
        for m, model in enumerate(models):
            part = rows.filter(pl.col("model") == model)
            y = np.array([CONDITIONS.index(c) for c in part["condition"]]) + 0.2 * m
            oracle = (part["condition"] == "oracle").to_numpy()
            ax.scatter(
                part["heldout_nll"].to_numpy()[~oracle],
                y[~oracle],
                color=f"C{m}",
                label=model if experiment == experiments[0] else None,
                s=18,
            )
            ax.scatter(
                part["heldout_nll"].to_numpy()[oracle],
                y[oracle],
                s=18,
                facecolors="none",
                edgecolors=f"C{m}",
            )
        ax.set_yticks(np.arange(len(CONDITIONS)), CONDITIONS, fontsize=8)
        ax.set_ylim(len(CONDITIONS) - 0.4, -0.6)
        ax.set_title(experiment, fontsize=9)
        ax.set_xlabel("held-out NLL per choice", fontsize=8)
    fig.legend(loc="outside lower center", ncols=min(len(models), 4), fontsize=8)
    return save_figure(fig, root, "c5_fitted_personas")


def generated_blocks(manifests: list[dict], shown: int = 2) -> list[Block]:
    """The generated personas: what they are, and the kept texts of the first persons
    of each model (``generated.csv`` in the generated step's folder)."""
    lines = []
    for manifest in manifests:
        folder = manifest["steps"].get("generated")
        if folder is None:
            continue
        texts = pl.read_csv(Path(folder) / "generated.csv", infer_schema_length=None)
        kept = texts.filter(pl.col("kept")).head(shown)
        for row in kept.iter_rows(named=True):
            lines.append(
                f"- {manifest['model']['name']}, {row['experiment']}/{row['participant']} "
                f"(round {row['round']}, first-K NLL {row['nll_first_k']:.3f}): "
                f'"{row["text"]}"'
            )
    if not lines:
        return []
    return [
        Text(
            "Generated personas (`generated_own`, placebo `generated_other`): the model "
            "writes a description from each person's first K choices and refines it "
            "against the first-K choices it predicted worst (`fitted.generated`); each "
            "person keeps the description best on their first K. A few kept texts "
            "(every text per round: `generated.csv` in each `generated-MODEL` step):\n"
            + "\n".join(lines)
        )
    ]


def make(root: Path) -> list[Block]:
    manifests = read_manifests(root, ANALYSIS)
    if not manifests:
        return []
    conditions = _tables(manifests, "conditions.csv")
    candidates = _tables(manifests, "candidates.csv").select(
        "model",
        "experiment",
        "participant",
        "candidate",
        "nll_first_k",
        "nll_heldout",
        "selected",
        "oracle",
    )
    benefits = _tables(manifests, "benefit.csv")
    write_table(conditions, root, "c5_fitted_personas", "Held-out NLL per condition")
    write_table(candidates, root, "c5_candidates", "Every candidate persona per person")
    write_table(benefits, root, "c5_benefits", "V2 on the held-out choices")
    figure = conditions_figure(conditions, root)
    lines = []
    notes: set[str] = set()
    for manifest in manifests:
        folder = _folder(manifest)
        verdict = json.loads((folder / "c5.json").read_text())["verdict"]
        pooled = conditions.filter(
            (pl.col("model") == manifest["model"]["name"]) & (pl.col("experiment") == "(pooled)")
        )
        persons = int(pooled["n_persons"].max() or 0)
        choices = int(pooled.filter(pl.col("condition") == "fitted_own")["n_choices"].sum())
        lines.append(
            f"- **{manifest['model']['name']}**: C5 {verdict} ({persons} persons, "
            f"{choices} held-out choices under fitted_own)"
        )
        notes |= set(json.loads((folder / "notes.json").read_text()))
    texts = [
        "Every participant is scored under no persona, the own profile and each persona "
        "of the library (conf/fitted/); each person's choices split at K "
        "(`fitted.split`). The fitted persona is the candidate best on the first K; its "
        "placebo is the one fitted on a deranged donor; the oracle, chosen on the held-out "
        "choices, is a ceiling and never a result; the cognitive model is fitted by "
        "maximum likelihood on the same first K. All are compared on the held-out choices. "
        "C5 holds when the fitted persona beats its placebo and the own profile, each above "
        "the ROPE with probability above 0.95 (V2's model).",
        "\n".join(lines),
    ]
    texts += notes_text(notes)
    more: list[Block] = [
        Table(benefits, "V2 on the held-out choices (positive: the fitted persona is better)"),
        *generated_blocks(manifests),
        Text(
            "Tables: `tables/c5_fitted_personas.csv`, `tables/c5_candidates.csv`, "
            "`tables/c5_benefits.csv`."
        ),
    ]
    return section(
        root,
        "C5: fitted personas",
        texts,
        conditions,
        "Mean held-out NLL per condition, experiment and model",
        figure,
        "Held-out NLL per condition (hollow: the oracle, a ceiling)",
        more=more,
    )


if __name__ == "__main__":
    script_main(make)
