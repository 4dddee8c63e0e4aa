"""C1, run vs persona: per model, the data-scale run share against the persona share.

The verdict per model comes from the 94% interval of (run share - persona share)
against the share ROPE (``pipeline.share_rope``): wholly above it, C1 holds (runs vary
more); inside it, C1 holds (as much as); wholly below it, C1 does not hold; otherwise
undecided at this size. A fit that failed its diagnostics gets the verdict FAILED and
is left out of the figure and of every later estimate (C3).

Reads the `run_vs_persona` manifests; writes tables/c1_run_vs_persona.{csv,md,tex},
tables/c1_shares.{csv,md,tex} and figures/c1_shares.{png,pdf}. Run alone:
python analysis/c1_run_vs_persona.py OUT
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from study.pipeline.evidence import Decision, count, rests_on, rope_verdict, share_draws
from study.pipeline.outputs import (
    pipeline_settings,
    read_manifests,
    save_figure,
    script_main,
    section,
    write_table,
)
from study.pipeline.report import Block
from study.variance.tables import interval

ANALYSIS = "run_vs_persona"
# The report's intervals: 94%, equal-tailed, as V1's own tables.
PROB = 0.94


def c1_verdict(difference: np.ndarray, rope: float, passed: bool) -> tuple[str, float, float]:
    """The verdict from draws of (run share - persona share), and its 94% interval."""
    low, high = interval(difference, PROB, "eti")
    if not passed:
        return "FAILED", low, high
    decision = rope_verdict(low, high, rope)
    if decision is Decision.INSIDE:
        return "holds (practically equal shares)", low, high
    if decision is Decision.OUTSIDE:
        return ("holds" if low > 0 else "does not hold"), low, high
    return "undecided at this size", low, high


def c1_table(manifests: list[dict], rope: float) -> pl.DataFrame:
    rows = []
    for manifest in manifests:
        v1 = Path(manifest["steps"]["v1"])
        c1 = json.loads((v1 / "c1.json").read_text())
        difference = share_draws(v1, c1.get("run_label", "run")) - share_draws(
            v1, c1.get("persona_label", "persona")
        )
        verdict, low, high = c1_verdict(difference, rope, c1["passed"])
        rows.append(
            {
                "model": manifest["model"]["name"],
                "run_share": c1["run_share"],
                "run_lower": c1["run_interval"][0],
                "run_upper": c1["run_interval"][1],
                "persona_share": c1["persona_share"],
                "persona_lower": c1["persona_interval"][0],
                "persona_upper": c1["persona_interval"][1],
                "run_minus_persona": float(difference.mean()),
                "difference_lower": low,
                "difference_upper": high,
                "p_run_ge_persona": c1["probability"],
                "verdict": verdict,
                "diagnostics": "passed" if c1["passed"] else "FAILED",
                "residual": c1.get("run_label", "run"),
            }
        )
    return pl.DataFrame(rows)


def samples_of(manifest: dict) -> pl.DataFrame:
    return pl.read_parquet(Path(manifest["steps"]["respond"]) / "respond" / "samples.parquet")


SAMPLING_MODES = {
    "free": "generated freely by the model (sampling.mode=free; an answer off the option "
    "set counts as a mismatch)",
    "options": "drawn from the option probabilities of the score pass (sampling.mode=options; "
    "never off the option set: a different estimand from free generation)",
}


def sampling_modes(samples: pl.DataFrame) -> list[str]:
    """The sampling modes of a C1 samples table (tables from before the column: free)."""
    if "sampling_mode" not in samples.columns:
        return ["free"]
    return sorted(set(samples["sampling_mode"].to_list()))


def sampling_line(modes: dict[str, list[str]]) -> str:
    """Which sampling mode each model's runs used, in one sentence.

    >>> sampling_line({"a": ["free"], "b": ["free"]}).startswith("Runs were generated freely")
    True
    >>> "b: drawn from" in sampling_line({"a": ["free"], "b": ["options"]})
    True
    """
    used = {mode for model_modes in modes.values() for mode in model_modes}
    if len(used) == 1:
        return f"Runs were {SAMPLING_MODES[used.pop()]}."
    parts = [
        f"{model}: {' and '.join(SAMPLING_MODES[m] for m in model_modes)}"
        for model, model_modes in modes.items()
    ]
    return "Runs by model: " + "; ".join(parts) + "."


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


def shares_figure(shares: pl.DataFrame, root: Path) -> Path:
    """Data-scale shares per component, one bar per passed model; sized by the count
    of bars and the longest component name."""
    models = shares["model"].unique(maintain_order=True).to_list()
    components = shares["component"].unique(maintain_order=True).to_list()
    longest = max(len(c) for c in components)
    fig, ax = plt.subplots(
        figsize=(6 + 0.07 * longest, 1.4 + 0.35 * len(components) * len(models)),
        layout="constrained",
    )
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
    ax.set_ylim(len(components) - 0.1, -0.3)
    ax.set_xlabel("share of variance, data scale (94% interval)")
    fig.legend(fontsize=8, loc="outside lower center", ncols=min(len(models), 4))
    return save_figure(fig, root, "c1_shares")


def model_line(row: dict) -> str:
    if row["verdict"] == "FAILED":
        return (
            f"- **{row['model']}**: FAILED its diagnostics: no verdict, and left out of the "
            "figure and of C3"
        )
    return (
        f"- **{row['model']}**: C1 {row['verdict']}: run share {row['run_share']:.3f} "
        f"[{row['run_lower']:.3f}, {row['run_upper']:.3f}] vs persona share "
        f"{row['persona_share']:.3f} [{row['persona_lower']:.3f}, {row['persona_upper']:.3f}]; "
        f"difference {row['run_minus_persona']:.3f} [{row['difference_lower']:.3f}, "
        f"{row['difference_upper']:.3f}], P(run >= persona) = {row['p_run_ge_persona']:.3f}"
    )


def make(root: Path) -> list[Block]:
    manifests = read_manifests(root, ANALYSIS)
    if not manifests:
        return []
    rope = pipeline_settings(root).share_rope
    table = c1_table(manifests, rope)
    shares = shares_table(manifests)
    write_table(table, root, "c1_run_vs_persona", "Data-scale run vs persona share per model")
    write_table(shares, root, "c1_shares", "V1 shares per model and component")
    # The whole fit's gate (c1.json), not a component's row, decides what is shown.
    passed_models = table.filter(pl.col("diagnostics") == "passed")["model"]
    passed = shares.filter(pl.col("model").is_in(passed_models.to_list()))
    png = shares_figure(passed, root) if passed.height else None
    samples = {m["model"]["name"]: samples_of(m) for m in manifests}
    evidence = {model: count(frame) for model, frame in samples.items()}
    modes = {model: sampling_modes(frame) for model, frame in samples.items()}
    residual = {str(r) for r in table["residual"]} | {"nonadditive"}
    factors = shares.filter(~pl.col("component").is_in(list(residual)))
    components = ", ".join(factors["component"].unique(maintain_order=True).to_list())
    return section(
        root,
        "C1: run vs persona",
        [
            "Sampled responses under several personas; V1 splits whether the sample equals "
            f"the human's response into {components} and run (the residual). C1 holds "
            "when the data-scale run share is at least the persona share: decided when the "
            "94% interval of their difference lies wholly above or below the ROPE "
            f"±{rope:g}, or inside it (practically equal, so C1 holds); otherwise "
            "undecided at this size.",
            sampling_line(modes),
            rests_on(evidence),
            "\n".join(model_line(row) for row in table.iter_rows(named=True)),
        ],
        table,
        "C1 per model",
        png,
        "Variance shares on the data scale (fits that passed their diagnostics)",
    )


if __name__ == "__main__":
    script_main(make)
