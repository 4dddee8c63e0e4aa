"""The analyses of the study, each a chain of cached steps ending in a manifest.

An analysis reads participants, asks engines for scores or samples, fits the variance
models and records in ``OUT/manifests/`` which step folders hold its results, one
manifest per analysis, model and job (study.pipeline.jobs); the scripts in ``analysis/``
turn manifests into tables and figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from study.config import Config
from study.data.truncate import first_choices
from study.engines.config import ModelConfig, SimulatedEngineConfig
from study.errors import ConfigError
from study.pipeline.inputs import data_step, synth_step
from study.pipeline.jobs import job_of
from study.pipeline.models import load_model
from study.pipeline.outputs import write_manifest
from study.pipeline.respond_steps import PERSON, respond_step, v1_step, v2_step
from study.records import Participant

log = logging.getLogger(__name__)


def models_of(cfg: Config) -> list[ModelConfig]:
    """The models an analysis runs: ``pipeline.models``, else ``model``. The simulated
    engine has no model (its truth is its config), so with it there is one, named
    ``simulated``, whatever ``pipeline.models`` lists: ``experiment=hosting
    engine=simulated`` runs once, not once per listed model."""
    if cfg.engine.name == "simulated":
        return [ModelConfig(name="simulated")]
    return [load_model(n) for n in cfg.pipeline.models] if cfg.pipeline.models else [cfg.model]


def simulation(cfg: Config, root: Path) -> None:
    """Synthetic participants answered by the simulated engine, whose variance
    components are known: V1 must recover them."""
    data, people = synth_step(cfg, root)
    engine = SimulatedEngineConfig(seed=cfg.seed)
    model = ModelConfig(name="simulated")
    responded = respond_step(
        cfg,
        root,
        data,
        people,
        engine=engine,
        model=model,
        personas=cfg.pipeline.sample_personas,
        runs=cfg.runs,
    )
    fitted = v1_step(cfg, root, responded, "simulated")
    _write_manifest(
        cfg,
        root,
        "simulation",
        {
            "analysis": "simulation",
            "model": asdict(model),
            "engine": engine.name,
            "truth": asdict(engine),
            "realized": realized_variances(engine, responded.path / "respond" / "samples.parquet"),
            "steps": {"data": data.path, "respond": responded.path, "v1": fitted.path},
        },
    )


def _write_manifest(cfg: Config, root: Path, name: str, manifest: dict) -> None:
    """The manifest ``name`` of the job ``cfg`` is (study.pipeline.jobs)."""
    write_manifest(root, name, job_of(cfg), manifest)


def realized_variances(engine: SimulatedEngineConfig, samples: Path) -> dict[str, float]:
    """The variance of the effects the simulated engine actually drew for the levels in
    the data: what a fit of these data can recover (the population variance is what
    it estimates on average over many such draws)."""
    import numpy as np
    import polars as pl

    from study.engines.simulated import SimulatedEngine

    truth = SimulatedEngine(engine)
    cells = pl.read_parquet(samples).select("experiment", "participant", "persona", "choice")
    cells = cells.unique().sort(cells.columns)
    effects = [truth.effects(*row) for row in cells.iter_rows()]
    person, person_persona = PERSON, f"{PERSON}:persona"
    by_level: dict[str, dict[tuple, float]] = {
        person: {},
        "persona": {},
        person_persona: {},
        "item": {},
    }
    for (experiment, participant, persona, choice), e in zip(
        cells.iter_rows(), effects, strict=True
    ):
        # A person is (experiment, participant), as in V1's person factor.
        by_level[person][(experiment, participant)] = e.person
        by_level["persona"][(persona,)] = e.persona
        by_level[person_persona][(experiment, participant, persona)] = e.person_persona
        by_level["item"][(experiment, choice)] = e.item
    return {name: float(np.var(list(values.values()), ddof=1)) for name, values in by_level.items()}


def run_vs_persona(cfg: Config, root: Path) -> None:
    """C1: sampled runs under several personas, per model; V1 shares on both scales."""
    data, people = data_step(cfg, root)
    if cfg.pipeline.sample_participants is not None:
        people = first_per_experiment(people, cfg.pipeline.sample_participants)
    if cfg.pipeline.sample_max_choices is not None:
        people = [first_choices(p, cfg.pipeline.sample_max_choices) for p in people]
    for model in models_of(cfg):
        responded = respond_step(
            cfg,
            root,
            data,
            people,
            engine=cfg.engine,
            model=model,
            personas=cfg.pipeline.sample_personas,
            runs=cfg.runs,
        )
        fitted = v1_step(cfg, root, responded, model.name)
        _write_manifest(
            cfg,
            root,
            f"run_vs_persona-{model.name}",
            {
                "analysis": "run_vs_persona",
                "model": asdict(model),
                "engine": cfg.engine.name,
                "steps": {"data": data.path, "respond": responded.path, "v1": fitted.path},
            },
        )


def replicate_psych201(cfg: Config, root: Path) -> None:
    """C2/T1: NLL of every human response under none / own / other, per model."""
    data, people = data_step(cfg, root)
    for model in models_of(cfg):
        responded = respond_step(
            cfg, root, data, people, engine=cfg.engine, model=model, personas=cfg.personas, runs=0
        )
        fitted = v2_step(cfg, root, responded, model.name)
        _write_manifest(
            cfg,
            root,
            f"replicate_psych201-{model.name}",
            {
                "analysis": "replicate_psych201",
                "model": asdict(model),
                "engine": cfg.engine.name,
                "steps": {"data": data.path, "respond": responded.path, "v2": fitted.path},
            },
        )


def hosting(cfg: Config, root: Path) -> None:
    """C4: co-hosted preambles, interleaved transcripts, cross-talk probes and sampled
    hosting, per model (study.hosting); with ``dry_run=true``, the plan only."""
    from study.pipeline.hosting_steps import hosting_fit_step, hosting_respond_step

    # Every person of the data step: `hosting.targets` picks the targets among them,
    # all of them can be partners, donors and interleaving partners.
    data, people = data_step(cfg, root)
    for model in models_of(cfg):
        responded = hosting_respond_step(cfg, root, data, people, engine=cfg.engine, model=model)
        fitted = hosting_fit_step(cfg, root, responded, model.name)
        _write_manifest(
            cfg,
            root,
            f"hosting-{model.name}",
            {
                "analysis": "hosting",
                "model": asdict(model),
                "engine": cfg.engine.name,
                "steps": {"data": data.path, "respond": responded.path, "fit": fitted.path},
            },
        )


def fitted_personas(cfg: Config, root: Path) -> None:
    """C5: none, own and the persona library scored per model; fitted, placebo, oracle
    and cognitive model compared on each person's held-out choices (study.fitted)."""
    from study.pipeline.fitted_steps import candidate_config, fitted_step, generated_step

    data, people = data_step(cfg, root)
    scoring, personas = candidate_config(cfg)
    for model in models_of(cfg):
        responded = respond_step(
            scoring, root, data, people, engine=cfg.engine, model=model, personas=personas, runs=0
        )
        steps = {"data": data.path, "respond": responded.path}
        generated = None
        if cfg.fitted.generated.enabled:
            generated = generated_step(cfg, root, data, people, engine=cfg.engine, model=model)
            steps["generated"] = generated.path
        fitted = fitted_step(cfg, root, responded, people, model.name, generated)
        _write_manifest(
            cfg,
            root,
            f"fitted_personas-{model.name}",
            {
                "analysis": "fitted_personas",
                "model": asdict(model),
                "engine": cfg.engine.name,
                "steps": {**steps, "fitted": fitted.path},
            },
        )


def persona_space(cfg: Config, root: Path) -> None:
    """C6: every person under none, own, other, the archetypes, the assistant and the
    role texts, scored (washout) and read out at every choice point (activations); the
    axis, drift and washout per model (study.persona_space); then the model steered
    along its own axis (persona_space.steering)."""
    from study.pipeline.persona_space_steering import steering_step
    from study.pipeline.persona_space_steps import (
        activations_step,
        space_config,
        space_fit_step,
        space_people,
        without_assistant,
    )

    data, people = data_step(cfg, root)
    chosen = space_people(cfg, people)
    scoring, personas = space_config(cfg)
    for model in models_of(cfg):
        about = {"analysis": "persona_space", "model": asdict(model), "engine": cfg.engine.name}
        reason = without_assistant(cfg, cfg.engine, model)
        if reason is not None:
            log.warning("C6 skips model %s: %s", model.name, reason)
            steps = {"data": data}
            about["skipped"] = reason
        else:
            responded = respond_step(
                scoring,
                root,
                data,
                chosen,
                engine=cfg.engine,
                model=model,
                personas=personas,
                runs=0,
            )
            states = activations_step(
                scoring, root, data, chosen, engine=cfg.engine, model=model, personas=personas
            )
            fitted = space_fit_step(cfg, root, responded, states, model.name)
            steps = {
                "data": data,
                "respond": responded,
                "activations": states,
                "persona_space": fitted,
            }
            if cfg.persona_space.steering:
                steps["steering"] = steering_step(
                    scoring, root, data, chosen, fitted, engine=cfg.engine, model=model
                )
        about["steps"] = {name: step.path for name, step in steps.items()}
        _write_manifest(cfg, root, f"persona_space-{model.name}", about)


def stakeholders(cfg: Config, root: Path) -> None:
    """C7: stakeholder personas extracted from each experiment's documents and generic
    ones, judging the judged persons' choices independently and in debate; alignment
    with the human, the decomposition and debate collapse per model (study.stakeholders)."""
    from study.pipeline.stakeholders_steps import (
        extract_step,
        judge_step,
        judged_people,
        stakeholders_fit_step,
    )

    data, people = data_step(cfg, root)
    chosen = judged_people(cfg, people)
    for model in models_of(cfg):
        extracted = extract_step(cfg, root, data, chosen, engine=cfg.engine, model=model)
        judged = judge_step(cfg, root, extracted, chosen, engine=cfg.engine, model=model)
        fitted = stakeholders_fit_step(cfg, root, judged, model.name)
        _write_manifest(
            cfg,
            root,
            f"stakeholders-{model.name}",
            {
                "analysis": "stakeholders",
                "model": asdict(model),
                "engine": cfg.engine.name,
                # The judging step under the name the report reads engines from.
                "steps": {
                    "data": data.path,
                    "extract": extracted.path,
                    "respond": judged.path,
                    "stakeholders": fitted.path,
                },
            },
        )


def hosting_dry_run(cfg: Config) -> None:
    """What ``experiment=hosting`` would ask each model: the first prompt of every
    design and experiment (a co-hosted and an interleaved one among them), token counts,
    and the requests the store already holds. Computes and writes nothing."""
    from study.engines.registry import build_engine
    from study.hosting.respond import plan_hosting
    from study.pipeline.hosting_steps import hosted_prompts_of, options_lookup
    from study.pipeline.inputs import load_people
    from study.respond.dryrun import describe_plan

    people = load_people(Path(cfg.data.path), cfg.data.limit, cfg.pipeline.max_choices)
    prompts = hosted_prompts_of(cfg, people)
    for model in models_of(cfg):
        engine = build_engine(cfg.engine, model)
        try:
            scores, samples = plan_hosting(
                prompts,
                options_lookup(people),
                engine.fingerprint(),
                cfg.hosting,
                runs=cfg.runs,
                sampling=cfg.sampling,
                seed=cfg.seed,
            )
            plan = describe_plan(
                prompts,
                scores,
                samples,
                Path(cfg.store),
                engine,
                cfg.fresh,
                condition=lambda prompt: prompt.design,
                kind="design",
            )
        finally:
            engine.close()
        print(f"##### model {model.name}\n{plan}")


def first_per_experiment(people: list[Participant], n: int) -> list[Participant]:
    """The sessions of the first ``n`` persons of each experiment.

    >>> rows = [("e", "1", 0), ("e", "2", 0), ("e", "1", 1), ("e", "3", 0), ("f", "1", 0)]
    >>> people = [Participant(e, p, "", session=s) for e, p, s in rows]
    >>> [x.key for x in first_per_experiment(people, 2)]
    [('e', '1', 0), ('e', '2', 0), ('e', '1', 1), ('f', '1', 0)]
    """
    kept: list[Participant] = []
    persons: dict[str, set[str]] = {}
    for session in people:
        chosen = persons.setdefault(session.experiment, set())
        if session.participant in chosen or len(chosen) < n:
            chosen.add(session.participant)
            kept.append(session)
    return kept


ANALYSES: dict[str, Callable[[Config, Path], None]] = {
    "simulation": simulation,
    "run_vs_persona": run_vs_persona,
    "replicate_psych201": replicate_psych201,
    "hosting": hosting,
    "fitted_personas": fitted_personas,
    "persona_space": persona_space,
    "stakeholders": stakeholders,
    # The scale analysis reads run_vs_persona's manifests; it has no steps of its own.
    "scale": lambda cfg, root: None,
}


def fitted_personas_dry_run(cfg: Config) -> None:
    """What ``experiment=fitted_personas`` would ask each model: the first prompt of each
    experiment under none, own and every candidate persona, token counts, cached
    requests (the respond stage's own dry run). Computes and writes nothing."""
    from study.pipeline.fitted_steps import candidate_config
    from study.pipeline.inputs import load_people
    from study.respond.stage import respond

    people = load_people(Path(cfg.data.path), cfg.data.limit, cfg.pipeline.max_choices)
    scoring, personas = candidate_config(cfg)
    for model in models_of(cfg):
        print(f"##### model {model.name}")
        respond(replace(scoring, model=model, personas=personas, runs=0), people)
    if cfg.fitted.generated.enabled:
        print(generated_plan(cfg, people))


def generated_plan(cfg: Config, people: list[Participant]) -> str:
    """The generated personas' plan: persons, requests per model, and the first
    person's writing prompt (a refinement's depends on the scores, so it is not shown)."""
    from study.fitted.config import check_generated
    from study.fitted.generated_prompts import excerpt, fill
    from study.fitted.heldout import first_k
    from study.pipeline.fitted_steps import generated_people

    settings = cfg.fitted.generated
    check_generated(settings)
    chosen = generated_people(cfg, people)
    split = first_k(chosen, cfg.fitted.split)
    persons = list(dict.fromkeys(p.person for p in chosen))
    if not persons:
        return "##### generated personas: nobody"
    sessions = len(chosen)
    rounds = settings.rounds + 1
    first = [p for p in chosen if p.person == persons[0]]
    prompt = fill(
        settings.write, {"excerpt": excerpt(first, split[persons[0]], settings.excerpt_chars)}
    )
    return (
        f"##### generated personas: {len(persons)} persons, {rounds} rounds; per model "
        f"{len(persons) * rounds} generations of up to {settings.max_tokens} tokens and at "
        f"most {sessions * (rounds + 1)} scorings\n"
        f"--- writing prompt of {persons[0][0]}/{persons[0][1]} (the description is "
        f"sampled after it, between << and >>):\n{prompt}<<"
    )


def persona_space_dry_run(cfg: Config) -> None:
    """What ``experiment=persona_space`` would ask each model: the first prompt of each
    experiment under every condition, token counts and cached scoring requests (the
    respond stage's own dry run); the activations are the same prompts."""
    from study.pipeline.inputs import load_people
    from study.pipeline.persona_space_steps import space_config, space_people, without_assistant
    from study.respond.stage import respond

    people = load_people(Path(cfg.data.path), cfg.data.limit, cfg.pipeline.max_choices)
    chosen = space_people(cfg, people)
    scoring, personas = space_config(cfg)
    for model in models_of(cfg):
        reason = without_assistant(cfg, cfg.engine, model)
        if reason is not None:
            print(f"##### model {model.name}: skipped, {reason}")
            continue
        print(f"##### model {model.name}: {len(personas)} conditions, the same prompts read out")
        respond(replace(scoring, model=model, personas=personas, runs=0), chosen)


def stakeholders_dry_run(cfg: Config) -> None:
    """What ``experiment=stakeholders`` would ask each model: the documents per
    experiment, the first extraction prompt, the judged items and the number of
    judging requests per round, and the first judging prompt. Computes nothing."""
    from study.pipeline.inputs import load_people
    from study.pipeline.stakeholders_steps import documents_of, judged_people
    from study.stakeholders.config import check
    from study.stakeholders.extract import Persona, _Panel, prompt_text
    from study.stakeholders.judge import Judge, items_of, judging_prompt

    settings = check(cfg.stakeholders)
    people = judged_people(
        cfg, load_people(Path(cfg.data.path), cfg.data.limit, cfg.pipeline.max_choices)
    )
    documents = documents_of(cfg, people)
    by_person: dict[tuple[str, str], list[Participant]] = {}
    for session in people:
        by_person.setdefault(session.person, []).append(session)
    items, notes = items_of(list(by_person.values()), settings)
    judges = 2 * settings.count
    for experiment, found in documents.items():
        print(f"##### {experiment}: documents {found['names']} ({len(found['text'])} chars)")
    first = next(iter(documents), None)
    if first is not None:
        panel = _Panel(first, "documents", documents[first]["text"])
        print(f"--- first extraction prompt (name of stakeholder 1 of {first}):")
        print(prompt_text(panel, settings, "name") + "<<")
    print(
        f"##### {len(items)} items; per model {len(items) * (judges + 1)} judging requests in "
        f"round 0 and {len(items) * judges} in each of {settings.rounds} debate rounds"
    )
    for note in notes:
        print(f"note: {note}")
    if items:
        example = Persona(items[0].experiment, "documents", 1, "NAME", "PERSPECTIVE.", "DIMENSION")
        prompt, _ = judging_prompt(Judge("documents", example), items[0], 0, [], settings)
        print(f"--- first judging prompt (round 0):\n{prompt}")


# Analyses that can show their plan without computing (``dry_run=true``).
DRY_RUNS: dict[str, Callable[[Config], None]] = {
    "hosting": hosting_dry_run,
    "fitted_personas": fitted_personas_dry_run,
    "persona_space": persona_space_dry_run,
    "stakeholders": stakeholders_dry_run,
}


def dry_run_analyses(cfg: Config) -> None:
    """``dry_run=true``: each analysis's plan where it has one; nothing is computed."""
    for name in cfg.pipeline.analyses:
        if name in DRY_RUNS:
            DRY_RUNS[name](cfg)
        else:
            print(
                f"analysis {name}: no dry run of its own; `stage=respond dry_run=true` shows "
                "the prompts of the persona conditions"
            )


def run_analyses(cfg: Config, root: Path) -> None:
    unknown = [a for a in cfg.pipeline.analyses if a not in ANALYSES]
    if unknown:
        raise ConfigError(f"pipeline.analyses: unknown {unknown}; known: {sorted(ANALYSES)}")
    for name in cfg.pipeline.analyses:
        ANALYSES[name](cfg, root)
