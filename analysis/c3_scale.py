"""C3/T3, scale: persona and run shares against log parameter count across models.

Reads the `run_vs_persona` manifests (one per model with a known parameter count) and
each model's posterior draws; writes tables/c3_scale.{csv,md,tex} and
figures/c3_scale.{png,pdf}. STUDY.md, V3: a slope of the persona share on
log10(parameters) is reported only from at least MIN_MODELS models whose fits passed
their diagnostics gate (computed per posterior draw, the models' draws paired by index,
giving its interval, decided against the share ROPE ``pipeline.share_rope``); with
fewer, the table is shown and no slope is claimed. A failed fit is in the table, marked
FAILED, and never in the slope. Run alone: python analysis/c3_scale.py OUT
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from study.pipeline.evidence import count, decision_text, rests_on, rope_verdict, share_draws
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
MIN_MODELS = 3
PROB = 0.94


def slope_draws(log_sizes: np.ndarray, draws: list[np.ndarray]) -> np.ndarray:
    """Per posterior draw, the least-squares slope of the shares on ``log_sizes``.

    >>> slope_draws(np.array([8.0, 9.0, 10.0]), [np.full(4, s) for s in (0.1, 0.2, 0.3)])
    array([0.1, 0.1, 0.1, 0.1])
    """
    n = min(d.size for d in draws)
    stacked = np.stack([d[:n] for d in draws])  # models x draws
    x = log_sizes - log_sizes.mean()
    return (x @ (stacked - stacked.mean(axis=0))) / (x @ x)


def model_row(manifest: dict) -> tuple[dict, np.ndarray]:
    """A model's shares and gate (from its C1 fit), and its persona-share draws."""
    v1 = Path(manifest["steps"]["v1"])
    c1 = json.loads((v1 / "c1.json").read_text())
    persona = share_draws(v1, c1.get("persona_label", "persona"))
    run = share_draws(v1, c1.get("run_label", "run"))
    row: dict = {
        "model": manifest["model"]["name"],
        "log10_parameters": float(np.log10(manifest["model"]["parameters"])),
        "persona_share": float(persona.mean()),
    }
    row["persona_lower"], row["persona_upper"] = interval(persona, PROB, "eti")
    row["run_share"] = float(run.mean())
    row["run_lower"], row["run_upper"] = interval(run, PROB, "eti")
    row["diagnostics"] = "passed" if c1["passed"] else "FAILED"
    return row, persona


def scale_figure(table: pl.DataFrame, root: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    ok = table.filter(pl.col("diagnostics") == "passed")
    for name, color in (("persona", "tab:blue"), ("run", "tab:orange")) if ok.height else ():
        mean = ok[f"{name}_share"]
        ax.errorbar(
            ok["log10_parameters"],
            mean,
            fmt="o-",
            color=color,
            label=name,
            yerr=[mean - ok[f"{name}_lower"], ok[f"{name}_upper"] - mean],
        )
    failed = table.filter(pl.col("diagnostics") != "passed")
    if failed.height:
        for name, marker in (("persona", "x"), ("run", "+")):
            ax.scatter(
                failed["log10_parameters"],
                failed[f"{name}_share"],
                marker=marker,
                s=50,
                color="grey",
                label=f"{name}, FAILED fit (not used)",
            )
    ax.set_xlabel("log10 parameters")
    ax.set_ylabel("data-scale share (94% interval)")
    fig.legend(fontsize=8, loc="outside lower center", ncols=3)
    return save_figure(fig, root, "c3_scale")


def slope_text(table: pl.DataFrame, persona_draws: list[np.ndarray], rope: float) -> str:
    ok = table["diagnostics"] == "passed"
    if int(ok.sum()) < MIN_MODELS:
        return (
            f"No slope is claimed: {int(ok.sum())} of {table.height} models' fits passed "
            f"their diagnostics, and a slope needs at least {MIN_MODELS}."
        )
    mask = ok.to_numpy()
    sizes = table["log10_parameters"].to_numpy()[mask]
    slopes = slope_draws(sizes, [d for d, keep in zip(persona_draws, mask, strict=True) if keep])
    low, high = interval(slopes, PROB, "eti")
    verdict = decision_text(rope_verdict(low, high, rope))
    return (
        f"Across the {int(mask.sum())} models whose fits passed, the slope of the persona "
        f"share on log10 parameters is {slopes.mean():.4f} per decade (94% interval "
        f"[{low:.4f}, {high:.4f}]): {verdict}, against the ROPE ±{rope:g} share per "
        "decade. T3 expects it to be small."
    )


def make(root: Path) -> list[Block]:
    manifests = [m for m in read_manifests(root, ANALYSIS) if m["model"].get("parameters")]
    if len(manifests) < 2:
        return []
    manifests.sort(key=lambda m: m["model"]["parameters"])
    rows, persona_draws = zip(*(model_row(m) for m in manifests), strict=True)
    table = pl.DataFrame(list(rows))
    write_table(table, root, "c3_scale", "Persona and run shares by model size")
    png = scale_figure(table, root)
    evidence = {}
    for manifest in manifests:
        samples = Path(manifest["steps"]["respond"]) / "respond" / "samples.parquet"
        evidence[manifest["model"]["name"]] = count(pl.read_parquet(samples))
    return section(
        root,
        "C3: scale",
        [
            slope_text(table, list(persona_draws), pipeline_settings(root).share_rope),
            rests_on(evidence),
        ],
        table,
        "Shares by model size (FAILED fits shown, never used in the slope)",
        png,
        "Persona and run shares against model size",
    )


if __name__ == "__main__":
    script_main(make)
