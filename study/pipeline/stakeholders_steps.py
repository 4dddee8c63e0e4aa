"""C7's steps per model: ``extract-MODEL`` (the documents and generic personas,
study.stakeholders.extract: ``personas.jsonl``, ``documents.json``, ``notes.json``),
``judge-MODEL`` (every judge's judgements of every item, round by round,
study.stakeholders.judge: ``judgements.parquet``, ``notes.json``) and
``stakeholders-MODEL`` (study.stakeholders.stats: ``alignment.csv``, ``gain.csv``,
``shares.csv``, ``collapse.csv``, ``c7.json``). Both engine steps send their requests
through the shared store ``ROOT/responses/``, so a killed step resumes."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from study.config import Config
from study.engines.config import EngineConfig, ModelConfig
from study.pipeline.respond_steps import (
    ENGINE_PACKAGES,
    FIT_PACKAGES,
    RESPOND_PACKAGES,
    engine_step_params,
)
from study.pipeline.steps import StepOutput, digest, run_step
from study.records import Participant
from study.stakeholders.config import check
from study.stakeholders.extract import Persona


def judged_people(cfg: Config, people: list[Participant]) -> list[Participant]:
    """The sessions of the persons whose choices are judged: the first
    ``stakeholders.persons`` of each experiment, or everybody."""
    from study.pipeline.analyses import first_per_experiment

    limit = cfg.stakeholders.persons
    return people if limit is None else first_per_experiment(people, limit)


def documents_of(cfg: Config, people: list[Participant]) -> dict[str, dict[str, Any]]:
    """Per experiment: the names of its documents and their text as the extracting model
    reads it (study.stakeholders.documents)."""
    from study.stakeholders.documents import experiment_documents, joined

    out: dict[str, dict[str, Any]] = {}
    for session in people:
        if session.experiment in out:
            continue
        documents = experiment_documents(session, cfg.stakeholders.documents)
        out[session.experiment] = {
            "names": [d.name for d in documents],
            "text": joined(documents, cfg.stakeholders.max_document_chars),
        }
    return out


def _engine_run(engine: EngineConfig, model: ModelConfig, root: Path, fresh: bool, work):
    """``work(runner)`` with ``model`` loaded and the shared store open; the engine's
    fingerprint with its result."""
    from study.engines.registry import build_engine
    from study.respond.runner import RequestRunner
    from study.store import ResponseStore

    built = build_engine(engine, model)
    try:
        with ResponseStore(root / "responses") as store:
            runner = RequestRunner(built, store, fresh)
            result = work(runner)
        return result, runner, dict(built.fingerprint())
    finally:
        built.close()


def extract_step(
    cfg: Config,
    root: Path,
    data: StepOutput,
    people: list[Participant],
    *,
    engine: EngineConfig,
    model: ModelConfig,
) -> StepOutput:
    """Both persona panels of every experiment of ``people``, written by ``model``."""
    from study.stakeholders.extract import extract_personas

    settings = check(cfg.stakeholders)  # before an engine loads
    documents = documents_of(cfg, people)
    params = {
        **engine_step_params(cfg, people, engine, model),
        "stakeholders": asdict(settings),
        "documents": digest(documents),
    }

    def build(staged) -> dict[str, Any]:
        texts = {experiment: d["text"] for experiment, d in documents.items()}
        outcome, runner, fingerprint = _engine_run(
            engine,
            model,
            root,
            cfg.fresh,
            lambda runner: extract_personas(runner, texts, settings, seed=cfg.seed),
        )
        lines = [json.dumps({"model": model.name, **asdict(p)}) for p in outcome.personas]
        staged.path("personas.jsonl").write_text("".join(line + "\n" for line in lines))
        staged.path("documents.json").write_text(json.dumps(documents, indent=2) + "\n")
        staged.path("notes.json").write_text(json.dumps(outcome.notes, indent=2) + "\n")
        return {
            "computed": runner.computed,
            "reused": runner.total - runner.computed,
            "engine": fingerprint,
        }

    return run_step(
        root,
        f"extract-{model.name}",
        params,
        build,
        code="study.pipeline.stakeholders_steps:extract_step",
        packages=(*RESPOND_PACKAGES, *ENGINE_PACKAGES.get(engine.name, ())),
        inputs=[data],
    )


def read_personas(path: Path) -> list[Persona]:
    """The personas of an extract step's ``personas.jsonl``."""
    personas = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record.pop("model", None)
        personas.append(Persona(**record))
    return personas


def judge_step(
    cfg: Config,
    root: Path,
    extracted: StepOutput,
    people: list[Participant],
    *,
    engine: EngineConfig,
    model: ModelConfig,
) -> StepOutput:
    """Every judge's judgements of the items of ``people`` (the judged persons)."""
    from study.stakeholders.judge import items_of, judge_items, panel_notes

    settings = check(cfg.stakeholders)
    by_person: dict[tuple[str, str], list[Participant]] = {}
    for session in people:
        by_person.setdefault(session.person, []).append(session)
    params = {
        **engine_step_params(cfg, people, engine, model),
        "stakeholders": asdict(settings),
    }

    def build(staged) -> dict[str, Any]:
        personas = read_personas(extracted.path / "personas.jsonl")
        items, notes = items_of(list(by_person.values()), settings)
        notes += panel_notes(personas, settings.rounds)
        judged, runner, fingerprint = _engine_run(
            engine,
            model,
            root,
            cfg.fresh,
            lambda runner: judge_items(runner, items, personas, settings, model.name),
        )
        judged.write_parquet(staged.path("judgements.parquet"))
        staged.path("notes.json").write_text(json.dumps(notes, indent=2) + "\n")
        return {
            "computed": runner.computed,
            "reused": runner.total - runner.computed,
            "items": len(items),
            "engine": fingerprint,
        }

    return run_step(
        root,
        f"judge-{model.name}",
        params,
        build,
        code="study.pipeline.stakeholders_steps:judge_step",
        packages=(*RESPOND_PACKAGES, *ENGINE_PACKAGES.get(engine.name, ())),
        inputs=[extracted],
    )


def stakeholders_fit_step(cfg: Config, root: Path, judged: StepOutput, label: str) -> StepOutput:
    """Alignment, the decomposition, debate collapse and the verdict of one model."""
    from study.stakeholders.outcome import analyse

    settings = check(cfg.stakeholders)
    sampler: dict[str, Any] = {
        "draws": cfg.pipeline.draws,
        "tune": cfg.pipeline.tune,
        "chains": cfg.pipeline.chains,
        "seed": cfg.seed,
        "prob": settings.prob,
    }
    params = {**sampler, "stakeholders": asdict(settings)}

    def build(staged) -> dict[str, Any]:
        judgements = pl.read_parquet(judged.path / "judgements.parquet")
        outcome = analyse(judgements, settings, **sampler)
        outcome.save(staged.path)
        return {"passed": outcome.passed, "verdict": outcome.verdict}

    return run_step(
        root,
        f"stakeholders-{label}",
        params,
        build,
        code="study.pipeline.stakeholders_steps:stakeholders_fit_step",
        packages=FIT_PACKAGES,
        inputs=[judged],
    )
