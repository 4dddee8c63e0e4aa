"""The report as a reader sees it: lists are lists, wide tables scroll in their own box,
the provenance folds away, and a smoke test says so in its first line."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import polars as pl

from study.pipeline.report import Code, Details, Figure, Heading, Report, Table, Text
from tests.pipeline.conftest import make_config


class Tree(HTMLParser):
    """Records, for every start tag and every text run, the open tags around it."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.tags: list[tuple[str, dict[str, str | None], list[tuple[str, dict]]]] = []
        self.texts: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs), list(self.stack)))
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append((data, [t for t, _ in self.stack]))


def parse(page: str) -> Tree:
    tree = Tree()
    tree.feed(page)
    tree.close()
    assert not tree.stack, f"unclosed tags: {tree.stack}"
    return tree


def _report(tmp_path: Path) -> Report:
    (tmp_path / "fig.png").write_bytes(b"\x89PNG not really")
    wide = pl.DataFrame({f"a_rather_long_column_name_{i}": [0.123456, 2.0] for i in range(25)})
    report = Report("Title", banner="Smoke test of the pipeline, not a replication.")
    report.add(
        Heading("Results"),
        Text("Intro line one\nline two.\n\nPer model:\n- model a: 0.1 < 0.2\n- **model b**: 0.3"),
        Table(wide, "a wide table"),
        Figure("fig.png", "a figure"),
        Heading("Provenance"),
        Details("Configuration (click to open)", Code("config:\n  seed: 0")),
    )
    return report


def test_html_lists_boxes_and_fold(tmp_path: Path) -> None:
    tree = parse(_report(tmp_path).to_html(tmp_path))
    items = [(attrs, around) for tag, attrs, around in tree.tags if tag == "li"]
    assert len(items) == 2
    assert all(around[-1][0] == "ul" for _, around in items)
    # No bullet survives as text in a paragraph: every "- " line became an item.
    assert not [t for t, around in tree.texts if t.lstrip().startswith("- ")]
    assert any("model a: 0.1 < 0.2" in t and "li" in around for t, around in tree.texts)
    tables = [around for tag, _, around in tree.tags if tag == "table"]
    assert tables
    for around in tables:
        boxes = [a for t, a in around if t == "div" and "overflow-x:auto" in (a.get("style") or "")]
        assert boxes, f"a table outside a scrolling box: {around}"
    pre = [around for tag, _, around in tree.tags if tag == "pre"]
    assert len(pre) == 1 and "details" in [t for t, _ in pre[0]]
    assert [t for t, around in tree.texts if "summary" in around] == [
        "Configuration (click to open)"
    ]
    body = [t for t, around in tree.texts if "body" in around]
    assert body[0].startswith("Smoke test of the pipeline, not a replication")


def test_markdown_keeps_lists_and_folds(tmp_path: Path) -> None:
    text = _report(tmp_path).to_markdown()
    assert text.splitlines()[0].startswith("**Smoke test of the pipeline, not a replication")
    assert "\n- model a: 0.1 < 0.2\n- **model b**: 0.3" in text
    assert "<details><summary>Configuration (click to open)</summary>" in text
    assert text.index("```\nconfig:") > text.index("<details>")


def test_quick_profile_report_opens_as_a_smoke_test(tmp_path: Path) -> None:
    from study.pipeline.stage import build_report

    quick = make_config(["experiment=simulation", "profile=quick", f"out={tmp_path}"])
    full = make_config(["experiment=simulation", f"out={tmp_path}"])
    assert quick.pipeline.smoke_test and not full.pipeline.smoke_test
    first = build_report(quick, tmp_path, {}).to_markdown().splitlines()[0]
    assert "smoke test of the pipeline, not a replication" in first.lower()
    assert build_report(full, tmp_path, {}).to_markdown().splitlines()[0].startswith("# ")
