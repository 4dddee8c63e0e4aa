"""C3/T3, scale: persona and run shares against log parameter count across models.

Reads the `run_vs_persona` manifests (one per model) and each model's posterior draws;
writes tables/c3_scale.{csv,md,tex} and figures/c3_scale.{png,pdf}. The slope of the
persona share on log10(parameters) is computed per posterior draw (models' draws
paired by index), giving its interval. Run alone: python analysis/c3_scale.py OUT
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from study.pipeline.outputs import read_manifests, save_figure, script_main, section, write_table
from study.pipeline.report import Block
from study.variance import load_tree

ANALYSIS = "run_vs_persona"


def share_draws(manifest: dict, component: str) -> np.ndarray:
    tree = load_tree(Path(manifest["steps"]["v1"]) / "posterior.nc")
    shares = tree["posterior"]["data_share"].sel(data_component=component)
    return np.asarray(shares.values).ravel()


def slope_draws(log_sizes: np.ndarray, draws: list[np.ndarray]) -> np.ndarray:
    n = min(d.size for d in draws)
    stacked = np.stack([d[:n] for d in draws])  # models x draws
    x = log_sizes - log_sizes.mean()
    return (x @ (stacked - stacked.mean(axis=0))) / (x @ x)


def make(root: Path) -> list[Block]:
    manifests = [m for m in read_manifests(root, ANALYSIS) if m["model"].get("parameters")]
    if len(manifests) < 2:
        return []
    manifests.sort(key=lambda m: m["model"]["parameters"])
    log_sizes = np.log10([m["model"]["parameters"] for m in manifests])
    rows, persona_draws = [], []
    for manifest, log_size in zip(manifests, log_sizes, strict=True):
        persona = share_draws(manifest, "persona")
        run = share_draws(manifest, "run")
        persona_draws.append(persona)
        rows.append(
            {
                "model": manifest["model"]["name"],
                "log10_parameters": float(log_size),
                "persona_share": float(persona.mean()),
                "persona_lower": float(np.quantile(persona, 0.03)),
                "persona_upper": float(np.quantile(persona, 0.97)),
                "run_share": float(run.mean()),
                "run_lower": float(np.quantile(run, 0.03)),
                "run_upper": float(np.quantile(run, 0.97)),
            }
        )
    table = pl.DataFrame(rows)
    slopes = slope_draws(np.asarray(log_sizes), persona_draws)
    low, high = np.quantile(slopes, [0.03, 0.97])
    write_table(table, root, "c3_scale", "Persona and run shares by model size")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, color in (("persona", "tab:blue"), ("run", "tab:orange")):
        mean = table[f"{name}_share"]
        ax.errorbar(
            table["log10_parameters"],
            mean,
            fmt="o-",
            color=color,
            label=name,
            yerr=[mean - table[f"{name}_lower"], table[f"{name}_upper"] - mean],
        )
    ax.set_xlabel("log10 parameters")
    ax.set_ylabel("data-scale share (94% interval)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = save_figure(fig, root, "c3_scale")
    return section(
        root,
        "C3: scale",
        [
            f"Across {len(manifests)} models, the slope of the persona share on log10 "
            f"parameters is {slopes.mean():.4f} per decade (94% interval [{low:.4f}, "
            f"{high:.4f}]). T3 expects it to be small.",
        ],
        table,
        "Shares by model size",
        png,
        "Persona and run shares against model size",
    )


if __name__ == "__main__":
    script_main(make)
