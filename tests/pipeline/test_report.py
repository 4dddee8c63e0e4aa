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
    from study.pipeline.jobs import job_of
    from study.pipeline.stage import build_report

    quick = make_config(["experiment=simulation", "profile=quick", f"out={tmp_path}"])
    full = make_config(["experiment=simulation", f"out={tmp_path}"])
    assert quick.pipeline.smoke_test and not full.pipeline.smoke_test
    first = build_report(tmp_path, [job_of(quick, [])]).to_markdown().splitlines()[0]
    assert "smoke test of the pipeline, not a replication" in first.lower()
    markdown = build_report(tmp_path, [job_of(full, [])]).to_markdown()
    assert markdown.splitlines()[0].startswith("# ")


def test_provenance_names_the_models_the_results_come_from(tmp_path: Path) -> None:
    """The config's default model is `simulated`; the results are Gemma's and SmolLM2's,
    as their respond steps' engine fingerprints say: the report names those."""
    import yaml

    from study.pipeline.jobs import job_of
    from study.pipeline.outputs import read_manifests, write_manifest
    from study.pipeline.stage import header, job_provenance

    cfg = make_config(["experiment=replicate_psych201", f"out={tmp_path}"])
    assert cfg.model.name == "simulated"
    job = job_of(cfg, [])
    for name in ("smollm2_135m", "gemma3_270m"):
        respond = tmp_path / "stages" / f"respond-{name}-0123456789ab"
        respond.mkdir(parents=True)
        fingerprint = {"engine": "llamacpp", "model": name, "model_sha256": f"sha-{name}"}
        (respond / "provenance.yaml").write_text(yaml.safe_dump({"engine": fingerprint}))
        manifest = {"analysis": "replicate_psych201", "model": {"name": name}, "engine": "x"}
        write_manifest(
            tmp_path,
            f"replicate_psych201-{name}",
            job,
            {**manifest, "steps": {"respond": str(respond)}},
        )
    block = job_provenance(tmp_path, job)
    assert block["models"] == [
        {"engine": "llamacpp", "model": m, "model_sha256": f"sha-{m}"}
        for m in ("gemma3_270m", "smollm2_135m")
    ]
    assert set(block["engines"]) == {"gemma3_270m", "smollm2_135m"}
    assert "model" not in block["config"]
    # Steps without a full record (made before steps kept one) are flagged.
    assert set(block["outdated"]) == set(block["steps"]) and len(block["steps"]) == 2
    text = header(job.config, read_manifests(tmp_path, job=job.key)).text
    assert "Models: gemma3_270m, smollm2_135m (llamacpp engine)." in text
