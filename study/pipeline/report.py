"""A report as a list of blocks, rendered to Markdown and to a self-contained HTML page.

Analysis scripts add blocks (headings, text, tables, figures); rendering is separate so
one report gives both files without a Markdown library.
"""

from __future__ import annotations

import base64
import html
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


Block = Heading | Text | Table | Figure | Code


@dataclass
class Report:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def to_markdown(self) -> str:
        parts = [f"# {self.title}\n"]
        for block in self.blocks:
            parts.append(_markdown(block))
        return "\n".join(parts)

    def to_html(self, root: Path) -> str:
        """HTML with figures embedded (base64), so the page is one file to send around."""
        body = "\n".join(_html(block, root) for block in self.blocks)
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
            "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;"
            "padding:2px 6px;text-align:right}img{max-width:100%}"
            "pre{background:#f6f6f6;padding:1em;overflow-x:auto}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>\n{body}</body></html>"
        )

    def write(self, folder: Path, stem: str = "report") -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        md, page = folder / f"{stem}.md", folder / f"{stem}.html"
        for target, text in ((md, self.to_markdown()), (page, self.to_html(folder))):
            with atomic_path(target) as tmp:
                tmp.write_text(text)
        return md, page


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
            return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
        case Code(text):
            return f"<pre>{html.escape(text)}</pre>"
        case Figure(path, caption):
            data = base64.b64encode((root / path).read_bytes()).decode()
            return (
                f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        case Table(frame, caption, digits):
            head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(_cell(v, digits))}</td>" for v in row) + "</tr>"
                for row in frame.rows()
            )
            cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
            return f"<table>{cap}<tr>{head}</tr>{rows}</table>"
    raise TypeError(f"unknown report block {block!r}")
