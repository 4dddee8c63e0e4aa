"""The output contract of an experiment folder, shared by the pipeline and analysis/.

``OUT/manifests/*.json`` says which step folders hold which analysis's results;
``OUT/tables/NAME.{csv,md,tex}`` and ``OUT/figures/NAME.{png,pdf}`` are what people read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def pipeline_settings(root: Path) -> Any:
    """The pipeline settings (ROPEs, ...) that wrote ``root``, from its
    ``provenance.yaml`` (the defaults where there is none, e.g. a folder of hand-made
    manifests), so that an analysis script run alone decides as the pipeline did."""
    import yaml

    from study.pipeline.config import PipelineConfig

    path = root / "provenance.yaml"
    if not path.exists():
        return PipelineConfig()
    saved = (yaml.safe_load(path.read_text()) or {}).get("config", {}).get("pipeline", {})
    known = PipelineConfig.__dataclass_fields__
    return PipelineConfig(**{k: v for k, v in saved.items() if k in known})


def wrap_label(text: str, width: int = 18) -> str:
    r"""An axis label broken into lines of at most ``width`` characters, after an
    underscore or space where there is one, so that long experiment names do not run
    into the plot or each other.

    >>> wrap_label("sandbrink2024metacontrol_day_three", 16)
    'sandbrink2024met\nacontrol_day_\nthree'
    >>> wrap_label("dezfouli2019")
    'dezfouli2019'
    """
    lines: list[str] = []
    rest = text
    while len(rest) > width:
        cut = max(rest.rfind("_", 0, width), rest.rfind(" ", 0, width))
        cut = cut + 1 if cut > 0 else width
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:]
    return "\n".join([*lines, rest])


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
    figure: Path | None,
    figure_caption: str = "",
    more: Sequence[Any] = (),
) -> list[Any]:
    """The report blocks of one analysis: heading, paragraphs, its table, its figure
    (None: no figure, e.g. when no fit passed its gate) and ``more`` blocks after them."""
    from study.pipeline.report import Figure, Heading, Table, Text

    blocks: list[Any] = [Heading(heading), *(Text(text) for text in texts)]
    blocks.append(Table(table, table_caption))
    if figure is not None:
        blocks.append(Figure(str(figure.relative_to(root)), figure_caption))
    return [*blocks, *more]


def script_main(make: Any) -> None:
    """Run an analysis script alone: ``python analysis/NAME.py OUT``."""
    import sys

    if len(sys.argv) != 2:
        raise SystemExit(f"usage: python {sys.argv[0]} OUT  (a folder written by the pipeline)")
    blocks = make(Path(sys.argv[1]))
    print(f"{len(blocks)} report blocks; tables and figures written under {sys.argv[1]}")
