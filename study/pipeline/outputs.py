"""The output contract of an experiment folder, shared by the pipeline and analysis/.

``OUT/manifests/NAME-SHORT.json`` says which step folders hold the results of an
analysis (and model) for one job (a configuration, study.pipeline.jobs; SHORT begins its
key). A report's folder holds ``job.json`` (which job it shows), ``report.md``,
``provenance.yaml``, and what people read: ``tables/NAME.{csv,md,tex}`` and
``figures/NAME.{png,pdf}``. That folder is ``OUT`` itself for a run of one job, and
``OUT/jobs/SHORT`` for each job of a sweep of several, whose ``OUT/report.md`` has one
section per job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from study.atomic import atomic_path
from study.errors import ConfigError

if TYPE_CHECKING:
    from study.pipeline.jobs import Job


def write_manifest(root: Path, name: str, job: Job, manifest: dict[str, Any]) -> Path:
    """``OUT/manifests/NAME-SHORT.json``: the manifest of ``name`` (an analysis, with its
    model) for ``job`` (study.pipeline.jobs), whose key and overrides it records; jobs
    of a sweep never overwrite each other's manifests."""
    target = root / "manifests" / f"{name}-{job.short}.json"
    record = {**manifest, "job": job.key, "overrides": list(job.overrides)}
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return target


def read_manifests(
    root: Path, analysis: str | None = None, job: str | None = None
) -> list[dict[str, Any]]:
    """The manifests of ``analysis`` (None: of every analysis) for one job, sorted by
    file name.

    ``root`` is a report's folder: the experiment folder ``OUT``, or a job's folder
    ``OUT/jobs/SHORT`` in a sweep. Its ``job.json`` (study.pipeline.jobs) names its job
    and experiment folder, so a script run on it reads that job's manifests and no
    other's; ``job`` (a key or its prefix) chooses another. A folder without ``job.json``
    (manifests put together by hand) is read whole, and must then hold one job's.
    """
    experiment, scope = report_scope(root)
    wanted = job or scope
    found = []
    for path in sorted((experiment / "manifests").glob("*.json")):
        manifest = json.loads(path.read_text())
        if analysis is not None and manifest.get("analysis") != analysis:
            continue
        if wanted is not None and not str(manifest.get("job", "")).startswith(wanted):
            continue
        found.append(manifest)
    jobs = {m.get("job") for m in found}
    if len(jobs) > 1:
        folders = ", ".join(f"{experiment}/jobs/{str(j)[:10]}" for j in sorted(map(str, jobs)))
        raise ConfigError(
            f"{experiment / 'manifests'} holds results of {len(jobs)} jobs (a sweep); read "
            f"one job's folder ({folders}) or name the job"
        )
    return found


def manifest_tables(manifests: list[dict[str, Any]], step: str, name: str) -> pl.DataFrame:
    """The CSV ``name`` of step ``step`` of every manifest, stacked, with the manifest's
    model first as ``model`` (tables written before the model was known lack it)."""
    frames = []
    for manifest in manifests:
        table = pl.read_csv(Path(manifest["steps"][step]) / name, infer_schema_length=None)
        frames.append(
            table.drop("model", strict=False).select(
                pl.lit(manifest["model"]["name"]).alias("model"), pl.all()
            )
        )
    return pl.concat(frames, how="diagonal_relaxed")


def report_scope(folder: Path) -> tuple[Path, str | None]:
    """The experiment folder whose manifests the report folder ``folder`` reads, and the
    job it shows (None: no ``job.json``, every manifest there)."""
    path = folder / "job.json"
    if not path.exists():
        return folder, None
    record = json.loads(path.read_text())
    return (folder / record.get("experiment", ".")).resolve(), str(record["key"])


def write_table(frame: pl.DataFrame, root: Path, name: str, caption: str = "") -> Path:
    """CSV for programs, Markdown for the report, LaTeX for papers."""
    folder = root / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{name}.csv") as tmp:
        frame.write_csv(tmp)
    from study.pipeline.report import Table, _markdown

    # Atomic: jobs of a sweep that share a report folder may write the same table.
    for ext, text in (("md", _markdown(Table(frame, caption))), ("tex", _latex(frame, caption))):
        with atomic_path(folder / f"{name}.{ext}") as tmp:
            tmp.write_text(text)
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
    # Fixed metadata: the same figure gives the same PDF bytes. Atomic: jobs of a sweep
    # that share a report folder may draw the same figure at once.
    with atomic_path(folder / f"{name}.pdf") as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": "study"})
    with atomic_path(folder / f"{name}.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": "study"})
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


def notes_text(notes: set[str], shown: int = 12) -> list[str]:
    """A report paragraph listing ``notes`` (sorted, at most ``shown`` of them), or no
    paragraph when there are none."""
    if not notes:
        return []
    ordered = sorted(notes)
    more = f"\n- ... and {len(ordered) - shown} more" if len(ordered) > shown else ""
    return ["Notes:\n" + "\n".join(f"- {note}" for note in ordered[:shown]) + more]


def script_main(make: Any) -> None:
    """Run an analysis script alone: ``python analysis/NAME.py OUT``."""
    import sys

    if len(sys.argv) != 2:
        raise SystemExit(f"usage: python {sys.argv[0]} OUT  (a folder written by the pipeline)")
    blocks = make(Path(sys.argv[1]))
    print(f"{len(blocks)} report blocks; tables and figures written under {sys.argv[1]}")
