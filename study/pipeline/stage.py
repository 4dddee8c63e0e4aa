"""The pipeline stage: ``python -m study experiment=NAME out=DIR`` (conf/experiment/).

Runs the configured analyses (study.pipeline.analyses: cached steps, resumable; with
``fresh=true`` every step is computed again), then every script in ``analysis/`` (tables
and figures from the steps' outputs), then writes the report (``report.md``,
``report.html``) and its ``provenance.yaml``.

Where the report goes: a run of one job writes it in ``OUT``; a job of a sweep (``-m``)
in its own folder, ``OUT/jobs/SHORT`` (study.pipeline.jobs). When the sweep ends,
study.pipeline.callbacks writes ``OUT/report.md`` over the sweep's jobs
(:func:`write_report`): as for a single run when they are one job (a sweep over models
only), else one section per job, headed by the overrides that tell it apart. A report
shows only the results of its own jobs, each under its own configuration.

The provenance block gives, per job, its configuration and overrides, the models
actually used (from the engines' fingerprints, not the config), every step's provenance
record, and the steps made by other code or packages than today's, which the report's
text names as well.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from study.atomic import atomic_path
from study.config import Config
from study.pipeline.analyses import dry_run_analyses, run_analyses
from study.pipeline.jobs import (
    JOB_FILE,
    Job,
    distinguishing,
    in_sweep,
    job_folder,
    job_of,
    save_job,
)
from study.pipeline.outputs import read_manifests
from study.pipeline.provenance import provenance
from study.pipeline.report import Block, Code, Details, Figure, Heading, Report, Text
from study.pipeline.steps import fresh_steps, outdated, read_provenance
from study.resources import analysis_script

log = logging.getLogger(__name__)
SMOKE_TEST = (
    "Smoke test of the pipeline, not a replication: this profile runs every step on a "
    "small slice of the data, so its numbers decide nothing."
)
# Report order: ground truth first, then the claims in STUDY.md's order.
SCRIPTS = (
    "simulation_recovery",
    "t1_profile_benefit",
    "c1_run_vs_persona",
    "c3_scale",
    "c4_hosting",
    "c5_fitted_personas",
    "c6_persona_space",
    "c7_stakeholders",
)


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


def models_used(manifests: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The (engine, model) pairs whose responses ``manifests`` use, from the fingerprint
    each respond step recorded (the manifest's own record for a step made before steps
    kept one), sorted."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for manifest in manifests:
        respond = manifest.get("steps", {}).get("respond")
        record = read_provenance(Path(respond)) if respond else None
        fingerprint = (record or {}).get("engine") or {}
        engine = str(fingerprint.get("engine") or manifest.get("engine", "?"))
        model = str(fingerprint.get("model") or manifest.get("model", {}).get("name", "?"))
        found[(engine, model)] = {
            "engine": engine,
            "model": model,
            "model_sha256": str(fingerprint.get("model_sha256", "")),
        }
    return [found[pair] for pair in sorted(found)]


def engine_fingerprints(manifests: Sequence[Mapping[str, Any]]) -> dict[str, object]:
    """The fingerprint (engine, versions, code version, model file sha256, settings) of
    every engine whose responses ``manifests`` use, by model name."""
    found: dict[str, object] = {}
    for manifest in manifests:
        respond = manifest.get("steps", {}).get("respond")
        record = read_provenance(Path(respond)) if respond else None
        if record and record.get("engine"):
            found[str(record["engine"].get("model", manifest["model"]["name"]))] = record["engine"]
    return found


def header(config: Mapping[str, Any], manifests: Sequence[Mapping[str, Any]]) -> Text:
    """What a job ran: analyses, data, the engines and models its results come from,
    and how its claims are decided."""
    pipeline = config["pipeline"]
    analyses = pipeline["analyses"]
    data = []
    if any(a != "simulation" for a in analyses):
        data.append(
            f"Data: {config['data']['path']} "
            f"({_at_most(config['data']['limit'], 'participants per experiment')}, "
            f"{_at_most(pipeline['max_choices'], 'choice points each')}). "
        )
    if "simulation" in analyses:
        synth = config["synth"]
        data.append(
            f"Simulation: synthetic {synth['task']} data, {synth['participants']} participants. "
        )
    by_engine: dict[str, list[str]] = {}
    for used in models_used(manifests):
        by_engine.setdefault(used["engine"], []).append(used["model"])
    models = "; ".join(f"{', '.join(m)} ({e} engine)" for e, m in by_engine.items())
    return Text(
        f"Analyses: {', '.join(analyses)}. {''.join(data)}"
        f"Models: {models or 'none (no results yet)'}. Intervals are 94%. "
        "Every posterior is gated by R-hat <= 1.01, bulk ESS >= 400 and no divergences; "
        "a fit that fails is marked FAILED and feeds no other estimate. An interval "
        f"decides a claim only when it lies inside or wholly outside the region of "
        f"practical equivalence (ROPE: ±{pipeline['rope']:g} nats per choice for "
        f"benefits, ±{pipeline['share_rope']:g} for shares of variance); otherwise the "
        "claim is undecided at this size."
    )


def job_provenance(root: Path, job: Job) -> dict[str, Any]:
    """The provenance block of ``job``'s results under the experiment folder ``root``."""
    manifests = read_manifests(root, job=job.key)
    steps: dict[str, Any] = {}
    for manifest in manifests:
        for path in manifest.get("steps", {}).values():
            folder = Path(path)
            record = read_provenance(folder)
            steps[folder.name] = (
                {k: v for k, v in record.items() if k != "config"} if record else None
            )
    stale = {
        name: outdated(record) if record else ["made before steps kept provenance"]
        for name, record in steps.items()
    }
    # The models used are under `models`, from the engines' fingerprints; the config's
    # own `model` is only the default (unused when pipeline.models names the models, and
    # not part of a job's identity), so showing it would misname them.
    config = {name: value for name, value in job.config.items() if name != "model"}
    block = provenance(config, seed=int(job.config["seed"]), engines=engine_fingerprints(manifests))
    block.update(
        job=job.key,
        overrides=list(job.overrides),
        models=models_used(manifests),
        steps=steps,
        outdated={name: why for name, why in sorted(stale.items()) if why},
    )
    return block


def job_blocks(folder: Path, job: Job, block: Mapping[str, Any]) -> list[Block]:
    """A job's part of a report: what it ran, the steps made by older code, and every
    analysis script's blocks, run on the job's report folder ``folder``."""
    blocks: list[Block] = [header(job.config, read_manifests(folder))]
    if block["outdated"]:
        named = ", ".join(f"{n} ({', '.join(why)})" for n, why in block["outdated"].items())
        blocks.append(
            Text(
                "Made by other code or packages than today's, so not what this code would "
                f"compute (run the experiment again to recompute them): {named}."
            )
        )
    for name in SCRIPTS:
        module = load_script(name)
        if module is not None:
            blocks.extend(module.make(folder))
    return blocks


def within(blocks: Sequence[Block], folder: str) -> list[Block]:
    """``blocks`` of a job's folder, placed in a report one folder up: headings one
    level down, figure paths from the report's folder."""
    placed: list[Block] = []
    for block in blocks:
        if isinstance(block, Heading):
            placed.append(replace(block, level=block.level + 1))
        elif isinstance(block, Figure):
            placed.append(replace(block, path=f"{folder}/{block.path}"))
        elif isinstance(block, Details) and isinstance(block.body, Figure):
            placed.append(
                replace(block, body=replace(block.body, path=f"{folder}/{block.body.path}"))
            )
        else:
            placed.append(block)
    return placed


def build_report(root: Path, jobs: Sequence[Job], folder: Path | None = None) -> Report:
    """The report over ``jobs`` (under the experiment folder ``root``), for ``folder``
    (default ``root``). Writes what the analysis scripts read first: each report
    folder's ``job.json`` and ``provenance.yaml``, then the scripts' tables and figures."""
    folder = folder or root
    smoke = any(job.config["pipeline"]["smoke_test"] for job in jobs)
    report = Report("Persona or noise? Results of the study", banner=SMOKE_TEST if smoke else "")
    if len(jobs) == 1:
        (job,) = jobs
        save_job(root, job, folder)
        block = job_provenance(root, job)
        _write_provenance(folder, block)
        report.add(*job_blocks(folder, job, block))
    else:
        # No one job is this folder's: a script run on it must be told which.
        (folder / JOB_FILE).unlink(missing_ok=True)
        labels = distinguishing(jobs)
        block = {"jobs": {}}
        for number, job in enumerate(jobs, 1):
            sub = job_folder(root, job)
            save_job(root, job, sub)
            block["jobs"][job.short] = job_provenance(root, job)
            _write_provenance(sub, block["jobs"][job.short])
            label = ", ".join(labels[job.key]) or "the same settings as another job"
            report.add(
                Heading(f"Job {number} of {len(jobs)}: {label}"),
                Text(f"Tables and figures of this job: `{os.path.relpath(sub, folder)}/`."),
                *within(
                    job_blocks(sub, job, block["jobs"][job.short]), os.path.relpath(sub, folder)
                ),
            )
        _write_provenance(folder, block)
    report.add(
        Heading("Provenance"),
        Details(
            "Configuration, versions, models, engines and every step's record (click to open)",
            Code(yaml.safe_dump(block, sort_keys=False)),
        ),
    )
    return report


def _write_provenance(folder: Path, block: Mapping[str, Any]) -> None:
    with atomic_path(folder / "provenance.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(dict(block), sort_keys=False))


def write_report(root: Path, jobs: Sequence[Job], folder: Path | None = None) -> None:
    """Tables, figures and the report of ``jobs`` (see :func:`build_report`)."""
    folder = folder or root
    md, page = build_report(root, jobs, folder).write(folder)
    print(f"wrote {md} and {page}", file=sys.stderr)


def run(cfg: Config) -> None:
    if cfg.dry_run:
        dry_run_analyses(cfg)
        return
    root = Path(cfg.out)
    root.mkdir(parents=True, exist_ok=True)
    job = job_of(cfg)
    save_job(root, job)
    with fresh_steps(cfg.fresh):
        run_analyses(cfg, root)
    # A job of a sweep reports in its own folder; the sweep's report comes at its end.
    write_report(root, [job], job_folder(root, job) if in_sweep() else root)
