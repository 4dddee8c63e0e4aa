"""Figures: variance shares per fit (variancePartition style), component forest plots,
per-experiment benefit. A fit that failed its diagnostics says so in red on the figure.

Each function returns the matplotlib Figure; pass ``path`` to also save it (PNG).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from study.variance.tables import POOLED

if TYPE_CHECKING:  # types only: the results' save() imports the I/O module, which imports this
    from study.variance.individuation import IndividuationResult
    from study.variance.result import VarianceResult

FAILED = "FAILED DIAGNOSTICS"


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    return fig


def plot_shares(
    results: VarianceResult | Mapping[str, VarianceResult],
    scale: Literal["data", "latent"] = "data",
    path: str | Path | None = None,
) -> Figure:
    """Each component's share of variance with its interval, one colour per fit.

    ``results`` is one fit or ``{label: fit}`` (models, items, experiments ...).
    """
    fits = dict(results) if isinstance(results, Mapping) else {"fit": results}
    column = f"{scale}_share"
    components: list[str] = []
    for result in fits.values():
        for name in result.components.dropna(subset=[column])["component"]:
            if name not in components:
                components.append(name)
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(components), 3.6))
    width = 0.8 / len(fits)
    for k, (label, result) in enumerate(fits.items()):
        table = result.components.dropna(subset=[column]).set_index("component")
        present = [c for c in components if c in table.index]
        x = np.array([components.index(c) for c in present]) - 0.4 + width * (k + 0.5)
        mean = table.loc[present, column].to_numpy()
        low = np.maximum(mean - table.loc[present, f"{column}_lower"].to_numpy(), 0.0)
        high = np.maximum(table.loc[present, f"{column}_upper"].to_numpy() - mean, 0.0)
        name = label if result.passed else f"{label} ({FAILED})"
        bars = ax.bar(
            x, mean, width=width * 0.9, label=name, alpha=0.8, hatch=None if result.passed else "//"
        )
        ax.errorbar(x, mean, yerr=[low, high], fmt="none", ecolor="black", capsize=3, lw=1)
        if not result.passed:
            for bar in bars:
                bar.set_edgecolor("red")
    ax.set_xticks(range(len(components)), components, rotation=20, ha="right")
    ax.set_ylabel(f"share of variance ({scale} scale)")
    ax.set_ylim(0, 1)
    interval = next(iter(fits.values())).components["interval"].iloc[0]
    ax.set_title(f"Variance shares, {interval} intervals")
    ax.legend(fontsize=8, frameon=False)
    if any(not r.passed for r in fits.values()):
        ax.text(0.99, 0.97, FAILED, transform=ax.transAxes, ha="right", va="top", color="red")
    return _finish(fig, path)


def plot_components(result: VarianceResult, path: str | Path | None = None) -> Figure:
    """Forest plot of the component variances (latent scale) with their intervals."""
    table = result.components.dropna(subset=["variance"])
    fig, ax = plt.subplots(figsize=(6, 0.8 + 0.45 * len(table)))
    y = np.arange(len(table))[::-1]
    mean = table["variance"].to_numpy()
    ax.errorbar(
        mean,
        y,
        xerr=[
            np.maximum(mean - table["variance_lower"].to_numpy(), 0.0),
            np.maximum(table["variance_upper"].to_numpy() - mean, 0.0),
        ],
        fmt="o",
        color="black" if result.passed else "red",
        capsize=3,
    )
    ax.set_yticks(y, table["component"])
    ax.set_xlabel("variance (latent scale)")
    title = f"Variance components ({table['interval'].iloc[0]})"
    if not result.passed:
        title += f"  {FAILED}"
    ax.set_title(title, color="black" if result.passed else "red")
    ax.grid(axis="x", alpha=0.3)
    return _finish(fig, path)


def plot_benefit(result: IndividuationResult, path: str | Path | None = None) -> Figure:
    """Per-experiment and pooled benefit (NLL per choice) with intervals and the ROPE."""
    contrasts = list(dict.fromkeys(result.table["contrast"]))
    experiments = list(dict.fromkeys(result.table["experiment"]))
    fig, axes = plt.subplots(
        1,
        len(contrasts),
        sharey=True,
        figsize=(4.2 * len(contrasts), 1.0 + 0.4 * len(experiments)),
        squeeze=False,
    )
    for ax, contrast in zip(axes[0], contrasts, strict=True):
        part = result.table[result.table["contrast"] == contrast].set_index("experiment")
        part = part.loc[[e for e in experiments if e in part.index]]
        y = np.arange(len(part))[::-1]
        mean = part["mean"].to_numpy()
        colours = ["tab:blue" if e == POOLED else "black" for e in part.index]
        ax.axvspan(-result.rope, result.rope, color="0.85", label="ROPE")
        ax.axvline(0, color="0.5", lw=0.8)
        for yi, m, lo, hi, colour in zip(
            y, mean, part["lower"], part["upper"], colours, strict=True
        ):
            err = [[max(m - lo, 0.0)], [max(hi - m, 0.0)]]
            ax.errorbar(m, yi, xerr=err, fmt="o", color=colour, capsize=3)
        ax.set_yticks(y, part.index)
        ax.set_xlabel("NLL reduction per choice (nats)")
        ax.set_title(contrast.replace("_", " "))
    if not result.passed:
        fig.suptitle(FAILED, color="red")
    return _finish(fig, path)
