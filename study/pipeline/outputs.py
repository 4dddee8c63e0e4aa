"""The output contract of an experiment folder, shared by the pipeline and analysis/.

``OUT/manifests/*.json`` says which step folders hold which analysis's results;
``OUT/tables/NAME.{csv,md,tex}`` and ``OUT/figures/NAME.{png,pdf}`` are what people read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from study.atomic import atomic_path


def write_manifest(root: Path, name: str, manifest: dict[str, Any]) -> Path:
    target = root / "manifests" / f"{name}.json"
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return target


def read_manifests(root: Path, analysis: str) -> list[dict[str, Any]]:
    """Every manifest of ``analysis`` under ``root`` (one per model), sorted by name."""
    found = []
    for path in sorted((root / "manifests").glob("*.json")):
        manifest = json.loads(path.read_text())
        if manifest.get("analysis") == analysis:
            found.append(manifest)
    return found


def write_table(frame: pl.DataFrame, root: Path, name: str, caption: str = "") -> Path:
    """CSV for programs, Markdown for the report, LaTeX for papers."""
    folder = root / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{name}.csv") as tmp:
        frame.write_csv(tmp)
    from study.pipeline.report import Table, _markdown

    (folder / f"{name}.md").write_text(_markdown(Table(frame, caption)))
    (folder / f"{name}.tex").write_text(_latex(frame, caption))
    return folder / f"{name}.csv"


def _latex(frame: pl.DataFrame, caption: str) -> str:
    def cell(value: object) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else ("" if value is None else str(value))
        for char in "\\&%$#_{}":
            text = text.replace(char, f"\\{char}")
        return text

    lines = [
        "\\begin{table}[ht]",
        "\\centering",
        "\\begin{tabular}{" + "l" * len(frame.columns) + "}",
        "\\hline",
        " & ".join(cell(c) for c in frame.columns) + " \\\\",
        "\\hline",
        *(" & ".join(cell(v) for v in row) + " \\\\" for row in frame.rows()),
        "\\hline",
        "\\end{tabular}",
    ]
    if caption:
        lines.append(f"\\caption{{{cell(caption)}}}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def save_figure(fig: plt.Figure, root: Path, name: str) -> Path:
    """PNG (for the report) and PDF (for papers); returns the PNG's path."""
    folder = root / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    # Fixed metadata: the same figure gives the same PDF bytes.
    fig.savefig(folder / f"{name}.pdf", metadata={"CreationDate": None, "Producer": "study"})
    fig.savefig(folder / f"{name}.png", dpi=120, metadata={"Software": "study"})
    plt.close(fig)
    return folder / f"{name}.png"


def section(
    root: Path,
    heading: str,
    texts: list[str],
    table: pl.DataFrame,
    table_caption: str,
    figure: Path,
    figure_caption: str,
) -> list[Any]:
    """The report blocks of one analysis: heading, paragraphs, its table and figure."""
    from study.pipeline.report import Figure, Heading, Table, Text

    return [
        Heading(heading),
        *(Text(text) for text in texts),
        Table(table, table_caption),
        Figure(str(figure.relative_to(root)), figure_caption),
    ]


def script_main(make: Any) -> None:
    """Run an analysis script alone: ``python analysis/NAME.py OUT``."""
    import sys

    if len(sys.argv) != 2:
        raise SystemExit(f"usage: python {sys.argv[0]} OUT  (a folder written by the pipeline)")
    blocks = make(Path(sys.argv[1]))
    print(f"{len(blocks)} report blocks; tables and figures written under {sys.argv[1]}")
