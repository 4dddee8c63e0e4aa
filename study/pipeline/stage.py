"""The pipeline stage: ``python -m study experiment=NAME out=DIR`` (conf/experiment/).

Runs the configured analyses (study.pipeline.analyses: cached steps, resumable), then
every script in ``analysis/`` (tables and figures from the steps' outputs), then writes
``DIR/report.md`` and ``DIR/report.html`` with the provenance block.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import yaml

from study.atomic import atomic_path
from study.config import Config
from study.pipeline.analyses import run_analyses
from study.pipeline.provenance import provenance
from study.pipeline.report import Block, Code, Details, Heading, Report, Text
from study.resources import analysis_script

log = logging.getLogger(__name__)
SMOKE_TEST = (
    "Smoke test of the pipeline, not a replication: this profile runs every step on a "
    "small slice of the data, so its numbers decide nothing."
)
# Report order: ground truth first, then the claims in STUDY.md's order.
SCRIPTS = ("simulation_recovery", "t1_profile_benefit", "c1_run_vs_persona", "c3_scale")


def load_script(name: str) -> ModuleType | None:
    path = analysis_script(name)
    if path is None:
        return None
    spec = importlib.util.spec_from_file_location(f"analysis_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _at_most(limit: int | None, what: str) -> str:
    return f"all {what}" if limit is None else f"at most {limit} {what}"


def build_report(cfg: Config, root: Path, block: dict) -> Report:
    banner = SMOKE_TEST if cfg.pipeline.smoke_test else ""
    report = Report("Persona or noise? Results of the study", banner=banner)
    analyses = cfg.pipeline.analyses
    data = []
    if any(a != "simulation" for a in analyses):
        data.append(
            f"Data: {cfg.data.path} ({_at_most(cfg.data.limit, 'participants per experiment')}"
            f", {_at_most(cfg.pipeline.max_choices, 'choice points each')}). "
        )
    if "simulation" in analyses:
        data.append(
            f"Simulation: synthetic {cfg.synth.task} data, {cfg.synth.participants} participants. "
        )
    report.add(
        Text(
            f"Analyses: {', '.join(analyses)}. {''.join(data)}"
            f"Engine: {cfg.engine.name}; "
            f"models: {', '.join(cfg.pipeline.models) or cfg.model.name}. Intervals are 94%. "
            "Every posterior is gated by R-hat <= 1.01, bulk ESS >= 400 and no divergences; "
            "a fit that fails is marked FAILED and feeds no other estimate. An interval "
            f"decides a claim only when it lies inside or wholly outside the region of "
            f"practical equivalence (ROPE: ±{cfg.pipeline.rope:g} nats per choice for "
            f"benefits, ±{cfg.pipeline.share_rope:g} for shares of variance); otherwise the "
            "claim is undecided at this size."
        )
    )
    for name in SCRIPTS:
        module = load_script(name)
        if module is None:
            continue
        blocks: list[Block] = module.make(root)
        report.add(*blocks)
    report.add(
        Heading("Provenance"),
        Details(
            "Configuration, versions, engines and data hashes (click to open)",
            Code(yaml.safe_dump(block, sort_keys=False)),
        ),
    )
    return report


def engine_fingerprints(root: Path) -> dict[str, object]:
    """The fingerprint (engine, version, model file sha256, settings) of every engine
    whose responses the manifests under ``root`` use, by model name."""
    import json

    import polars as pl

    found: dict[str, object] = {}
    for path in sorted((root / "manifests").glob("*.json")):
        manifest = json.loads(path.read_text())
        scores = Path(manifest["steps"]["respond"]) / "respond" / "scores.parquet"
        if scores.exists():
            first = pl.read_parquet(scores, columns=["model", "engine_settings"], n_rows=1)
            if first.height:
                found[first["model"][0]] = json.loads(first["engine_settings"][0])
    return found


def write_report(cfg: Config) -> None:
    """Tables, figures and the report from whatever manifests ``cfg.out`` holds."""
    root = Path(cfg.out)
    block = provenance(asdict(cfg), seed=cfg.seed, engines=engine_fingerprints(root))
    with atomic_path(root / "provenance.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(block, sort_keys=False))
    md, page = build_report(cfg, root, block).write(root)
    print(f"wrote {md} and {page}", file=sys.stderr)


def run(cfg: Config) -> None:
    root = Path(cfg.out)
    root.mkdir(parents=True, exist_ok=True)
    run_analyses(cfg, root)
    write_report(cfg)
