"""A report as a list of blocks, rendered to Markdown and to a self-contained HTML page.

Analysis scripts add blocks (headings, text, tables, figures); rendering is separate so
one report gives both files without a Markdown library. The HTML is meant to be read in
a browser: a text block's ``- `` lines become a list (``<ul><li>``), every table sits in
its own horizontally scrolling box (a wide table never pushes the page sideways), figures
are embedded, and a :class:`Details` block (the provenance) folds away.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from study.atomic import atomic_path


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Table:
    frame: pl.DataFrame
    caption: str = ""
    float_digits: int = 3


@dataclass(frozen=True)
class Figure:
    # Relative to the report's folder, so the Markdown works when the folder moves.
    path: str
    caption: str = ""


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Details:
    """A block folded away behind a one-line summary (``<details>`` in HTML; GitHub's
    Markdown renders the same tags)."""

    summary: str
    body: Heading | Text | Table | Figure | Code


Block = Heading | Text | Table | Figure | Code | Details


@dataclass
class Report:
    """``banner``: a line shown before the title, the first line of both files (the
    quick profile's "smoke test, not a replication")."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    banner: str = ""

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def to_markdown(self) -> str:
        parts = [f"**{self.banner}**\n"] if self.banner else []
        parts.append(f"# {self.title}\n")
        for block in self.blocks:
            parts.append(_markdown(block))
        return "\n".join(parts)

    def to_html(self, root: Path) -> str:
        """HTML with figures embedded (base64), so the page is one file to send around."""
        body = "\n".join(_html(block, root) for block in self.blocks)
        banner = f"<p class='banner'>{html.escape(self.banner)}</p>\n" if self.banner else ""
        title = f"{self.banner} {self.title}" if self.banner else self.title
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
            f"{banner}<h1>{html.escape(self.title)}</h1>\n{body}</body></html>"
        )

    def write(self, folder: Path, stem: str = "report") -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        md, page = folder / f"{stem}.md", folder / f"{stem}.html"
        for target, text in ((md, self.to_markdown()), (page, self.to_html(folder))):
            with atomic_path(target) as tmp:
                tmp.write_text(text)
        return md, page


_CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
    ".banner{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em;font-weight:bold}"
    ".table-box{overflow-x:auto;margin:1em 0;border:1px solid #eee}"
    "table{border-collapse:collapse;font-size:85%}caption{text-align:left;font-style:italic;"
    "padding:4px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;"
    "white-space:nowrap}td.num{text-align:right}th{background:#f3f3f3}"
    "img{max-width:100%;height:auto}"
    "figure{margin:1em 0}figcaption{font-style:italic}li{margin:.3em 0}"
    "pre{background:#f6f6f6;padding:1em;overflow-x:auto}summary{cursor:pointer}"
)


def _cell(value: object, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _markdown(block: Block) -> str:
    match block:
        case Heading(text, level):
            return f"{'#' * level} {text}\n"
        case Text(text):
            return f"{text}\n"
        case Code(text):
            return f"```\n{text}\n```\n"
        case Details(summary, body):
            return f"<details><summary>{summary}</summary>\n\n{_markdown(body)}\n</details>\n"
        case Figure(path, caption):
            return f"![{caption}]({path})\n\n*{caption}*\n" if caption else f"![]({path})\n"
        case Table(frame, caption, digits):
            header = "| " + " | ".join(frame.columns) + " |"
            rule = "|" + "---|" * len(frame.columns)
            rows = ["| " + " | ".join(_cell(v, digits) for v in row) + " |" for row in frame.rows()]
            text = "\n".join([header, rule, *rows]) + "\n"
            return f"{text}\n*{caption}*\n" if caption else text
    raise TypeError(f"unknown report block {block!r}")


def _html(block: Block, root: Path) -> str:
    match block:
        case Heading(text, level):
            return f"<h{level}>{html.escape(text)}</h{level}>"
        case Text(text):
            return "".join(_paragraph(p) for p in text.split("\n\n") if p.strip())
        case Code(text):
            return f"<pre>{html.escape(text)}</pre>"
        case Details(summary, body):
            return (
                f"<details><summary>{html.escape(summary)}</summary>{_html(body, root)}</details>"
            )
        case Figure(path, caption):
            data = base64.b64encode((root / path).read_bytes()).decode()
            return (
                f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        case Table(frame, caption, digits):
            head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
            rows = "".join(
                "<tr>" + "".join(_td(v, digits) for v in row) + "</tr>" for row in frame.rows()
            )
            cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
            # The box scrolls, not the page: a wide table keeps the text column readable.
            return (
                "<div class='table-box' style='overflow-x:auto'>"
                f"<table>{cap}<tr>{head}</tr>{rows}</table></div>"
            )
    raise TypeError(f"unknown report block {block!r}")


def _td(value: object, digits: int) -> str:
    # Numbers right-aligned (digits line up), text left-aligned.
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return f"<td{' class=num' if numeric else ''}>{html.escape(_cell(value, digits))}</td>"


def _paragraph(text: str) -> str:
    r"""One Markdown paragraph as HTML: runs of ``- `` lines become a list, other runs of
    lines one paragraph.

    >>> _paragraph("Results:\n- a < b\n- **c**")
    '<p>Results:</p><ul><li>a &lt; b</li><li><strong>c</strong></li></ul>'
    """
    out: list[str] = []
    items: list[str] = []
    lines: list[str] = []

    def flush() -> None:
        if lines:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
            lines.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.strip().splitlines():
        if line.startswith("- "):
            if lines:
                flush()
            items.append(line[2:])
        elif items and line.startswith("  "):
            items[-1] += " " + line.strip()  # an item's continuation line
        else:
            if items:
                flush()
            lines.append(line)
    flush()
    return "".join(out)


def _inline(text: str) -> str:
    """Escaped text with Markdown's ``**strong**`` and ```code``` spans."""
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
