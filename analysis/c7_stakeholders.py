"""C7, stakeholder personas: do personas extracted from an experiment's documents judge
the human's responses better than generic ones, and does debate keep their differences?

Per model: alignment (the mean log-probability a judge gives the human's actual
response) per source (documents, generic, none) and debate round, with cluster-bootstrap
intervals over persons; the gain of document over generic personas; the decomposition
of the judgements' log-odds into item, persona, persona x item, source and round; the
persona x item variance after debate against before; the verdict
(study.stakeholders.stats.verdict).

Reads the `stakeholders` manifests; writes stakeholders/personas.jsonl (every persona
with its supporting passage), tables/c7_stakeholders, c7_shares, c7_gain, c7_collapse,
c7_verdicts (each .csv, .md, .tex) and figures/c7_alignment, c7_shares (.png, .pdf).
Run alone: python analysis/c7_stakeholders.py OUT
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl

from study.atomic import atomic_path
from study.pipeline.outputs import (
    manifest_tables,
    notes_text,
    read_manifests,
    save_figure,
    script_main,
    section,
    write_table,
)
from study.pipeline.report import Block, Figure, Table, Text
from study.stakeholders.outcome import reported_fit

ANALYSIS = "stakeholders"
STEP = "stakeholders"
COLOURS = {"documents": "C0", "generic": "C1", "none": "black"}
OUTCOMES = {"logodds": "C0", "sampled": "C2"}
OUTCOME_LABELS = {
    "logodds": "log-odds of the human's option (Gaussian)",
    "sampled": "sampled judgements matching the human (binomial; residual: run)",
}
CONTRACT = ["model", "experiment", "source", "round", "alignment", "lower", "upper"]


def write_personas(manifests: list[dict], root: Path) -> Path:
    """``OUT/stakeholders/personas.jsonl``: every model's personas, one per line."""
    lines = []
    for manifest in manifests:
        path = Path(manifest["steps"]["extract"]) / "personas.jsonl"
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    target = root / "stakeholders" / "personas.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return target


def alignment_figure(alignment: pl.DataFrame, root: Path) -> Path:
    """Alignment per debate round, one line per source (the plain judge: round 0 only),
    one panel per model; bars: the bootstrap interval over persons."""
    pooled = alignment.filter(
        pl.col("experiment") == "all" if (alignment["experiment"] == "all").any() else pl.lit(True)
    )
    models = pooled["model"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        1,
        len(models),
        figsize=(max(4.2 * len(models), 6.0), 3.2),
        layout="constrained",
        squeeze=False,
    )
    for ax, model in zip(axes[0], models, strict=True):
        rows = pooled.filter(pl.col("model") == model)
        for offset, source in enumerate(COLOURS):
            line = rows.filter(pl.col("source") == source).sort("round")
            if line.height == 0:
                continue
            x = line["round"].to_numpy() + 0.06 * (offset - 1)
            ax.errorbar(
                x,
                line["alignment"],
                yerr=[line["alignment"] - line["lower"], line["upper"] - line["alignment"]],
                marker="o",
                ms=4,
                capsize=2,
                color=COLOURS[source],
                label=source if model == models[0] else None,
            )
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("debate round (0: independent)", fontsize=8)
        ax.set_ylabel("alignment: mean log p(human's response)", fontsize=8)
        ax.set_xticks(sorted(set(rows["round"].to_list())))
    fig.legend(loc="outside lower center", ncols=3, fontsize=7)
    return save_figure(fig, root, "c7_alignment")


def shares_figure(shares: pl.DataFrame, root: Path) -> Path:
    """Each component's data-scale share with its interval, for the log-odds fit and
    the sampled judgements' fit, one panel per model; a fit that failed its gate is left
    out and named in the panel's title."""
    models = shares["model"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        1,
        len(models),
        figsize=(max(4.2 * len(models), 6.0), 2.8),
        layout="constrained",
        squeeze=False,
    )
    labelled: set[str] = set()
    for ax, model in zip(axes[0], models, strict=True):
        rows = shares.filter(pl.col("model") == model)
        failed = rows.filter(~pl.col("passed"))["outcome"].unique().to_list()
        rows = rows.filter(pl.col("passed"))  # a failed fit is never drawn as if fine
        if rows.height == 0:
            ax.text(0.5, 0.5, "fits FAILED their diagnostics", ha="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        y = list(range(rows.height))
        for outcome, colour in OUTCOMES.items():
            mask = (rows["outcome"] == outcome).to_list()
            part = rows.filter(pl.col("outcome") == outcome)
            if part.height == 0:
                continue
            ax.errorbar(
                part["share"],
                [i for i, m in zip(y, mask, strict=True) if m],
                xerr=[part["share"] - part["lower"], part["upper"] - part["share"]],
                fmt="o",
                ms=4,
                capsize=2,
                color=colour,
                label=OUTCOME_LABELS[outcome] if outcome not in labelled else None,
            )
            labelled.add(outcome)
        ax.set_yticks(y, rows["component"].to_list(), fontsize=7)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_title(
            model + (f" ({', '.join(failed)} fit FAILED, not shown)" if failed else ""), fontsize=9
        )
        ax.set_xlabel("data-scale share of the variance", fontsize=8)
    if labelled:  # no legend when every fit failed
        fig.legend(loc="outside lower center", ncols=2, fontsize=7)
    return save_figure(fig, root, "c7_shares")


def verdict_rows(manifests: list[dict]) -> pl.DataFrame:
    rows = []
    for manifest in manifests:
        record = json.loads((Path(manifest["steps"][STEP]) / "c7.json").read_text())
        personas = record.get("n_personas", {})
        rows.append(
            {
                "model": manifest["model"]["name"],
                "verdict": record["verdict"],
                "persons": record.get("n_persons"),
                "items": record.get("n_items"),
                "documents personas": personas.get("documents", 0),
                "generic personas": personas.get("generic", 0),
                "rounds": record.get("rounds"),
                "runs": record.get("runs", 0),
                "diagnostics": record.get("diagnostics", ""),
                "reason": record["reason"],
            }
        )
    return pl.DataFrame(rows)


def evidence_counts(manifests: list[dict]) -> str:
    """How many document personas quote their documents, per model."""
    parts = []
    for manifest in manifests:
        path = Path(manifest["steps"]["extract"]) / "personas.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines() if line]
        documents = [r for r in records if r["source"] == "documents"]
        quoted = sum(r["evidence_kind"] == "quoted" for r in documents)
        parts.append(
            f"{manifest['model']['name']}: {quoted} of {len(documents)} quoted a passage found "
            "in the documents (the others carry the passage most like them, marked `matched`)"
        )
    return "; ".join(parts)


def step_notes(manifests: list[dict]) -> set[str]:
    notes: set[str] = set()
    for manifest in manifests:
        for step in ("extract", "respond"):
            path = Path(manifest["steps"][step]) / "notes.json"
            if path.exists():
                notes |= {f"{manifest['model']['name']}: {n}" for n in json.loads(path.read_text())}
    return notes


def make(root: Path) -> list[Block]:
    manifests = read_manifests(root, ANALYSIS)
    if not manifests:
        return []
    write_personas(manifests, root)
    alignment = manifest_tables(manifests, STEP, "alignment.csv")
    shares = manifest_tables(manifests, STEP, "shares.csv")
    gain = manifest_tables(manifests, STEP, "gain.csv")
    collapse = manifest_tables(manifests, STEP, "collapse.csv")
    verdicts = verdict_rows(manifests)
    ordered = [*CONTRACT, *(c for c in alignment.columns if c not in CONTRACT)]
    write_table(
        alignment.select(ordered), root, "c7_stakeholders", "C7: alignment per source and round"
    )
    write_table(shares, root, "c7_shares", "C7: shares of the judgements' log-odds variance")
    write_table(gain, root, "c7_gain", "C7: alignment gain of document over generic personas")
    write_table(collapse, root, "c7_collapse", "C7: persona x item variance after debate / before")
    write_table(verdicts, root, "c7_verdicts", "C7 per model")
    texts = [
        "Each model reads every experiment's documents (its README, the data card's "
        "description and the task's instructions, or `stakeholders.documents`) and writes "
        "stakeholder personas, field by field, each with a passage of the documents "
        "supporting it; as many generic personas are written without the documents. "
        "They and a judge without a persona give, at each judged choice point, the "
        "probability of every option (score mode) independently (round 0), then after "
        "the other panelists' judgements (debate rounds). Alignment is the mean "
        "log-probability of the response the human actually gave. C7 holds when document "
        "personas raise alignment over generic ones (the gain's interval above the ROPE) "
        "and debate does not collapse the persona × item variance (its ratio after / "
        "before not wholly below `stakeholders.collapse_ratio`). Intervals: 94%, a "
        "bootstrap over persons (alignment), posteriors (shares, collapse).",
        "Evidence: " + evidence_counts(manifests) + ".",
        "\n".join(
            f"{r['model']}: **{r['verdict']}** ({r['persons']} persons, {r['items']} items, "
            f"{r['documents personas']} document and {r['generic personas']} generic personas, "
            f"{r['rounds']} debate rounds, {r['runs']} sampled runs per judgement; "
            f"{r['diagnostics']}). {r['reason']}. A failed "
            "decomposition's shares are shown but not to be read."
            for r in verdicts.iter_rows(named=True)
        ),
        *notes_text(step_notes(manifests)),
    ]
    shown = alignment.filter(pl.col("experiment") == "all")
    if shown.height == 0:
        shown = alignment
    more: list[Block] = [
        Figure(
            str(shares_figure(reported_fit(shares), root).relative_to(root)),
            "Shares of the judgements' log-odds variance (94% intervals)",
        ),
        Table(
            shares.select(
                "model", "outcome", "fit", "component", "share", "lower", "upper", "passed"
            ),
            "Decomposition of the judgements' log-odds (data-scale shares, 94% intervals); "
            "when the fit with every term fails its gate (a source has three levels, a "
            "round two or three: their shares are left to the prior), the fit of item, "
            "persona and persona × item follows it, its persona share including the "
            "source's. The sampled judgements (each run draws the judge's option from its "
            "judgement) add the run: a judge's own sampling noise beside its persona",
        ),
        Table(
            collapse.select(
                "model",
                "first_round",
                "last_round",
                "ratio",
                "lower",
                "upper",
                "threshold",
                "collapsed",
                "passed_first",
                "passed_last",
            ),
            "Debate: persona × item variance, last round over round 0 (94% interval)",
        ),
        Text(
            "Tables: `tables/c7_stakeholders.csv` (alignment per experiment too), "
            "`tables/c7_shares.csv`, `tables/c7_gain.csv`, `tables/c7_collapse.csv`, "
            "`tables/c7_verdicts.csv`; personas: `stakeholders/personas.jsonl`."
        ),
    ]
    return section(
        root,
        "C7: stakeholder personas",
        texts,
        shown.select(
            "model",
            "source",
            "round",
            "alignment",
            "lower",
            "upper",
            "n_persons",
            "n_items",
            "n_personas",
        ),
        "Alignment with the human's response per source and debate round (94% intervals)",
        alignment_figure(alignment, root),
        "Alignment per source and debate round",
        more=more,
    )


if __name__ == "__main__":
    script_main(make)
