"""C6's steps: every person scored under every condition (the respond step, for the
washout), the residual-stream states of the same prompts in ``activations-MODEL``
(``keys.parquet``, ``states.npy``), and the statistics in ``persona_space-MODEL``:
``axis.csv``, ``components.csv``, ``coordinates.csv``, ``drift.csv``, ``washout.csv``,
``trajectory.csv``, ``washout_curve.csv``, ``c6.json``, ``notes.json``.

The conditions are none, own, other, the configured archetypes, the assistant and the
role texts of ``conf/persona_space/``; a role ``NAME`` is scored as the archetype
``role:NAME`` (condition ``archetype:role:NAME`` in the respond step's outputs, shown as
``role:NAME`` in C6's tables).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from study.config import Config
from study.engines.config import EngineConfig, ModelConfig
from study.errors import ConfigError
from study.persona_space.config import check, role_personas
from study.pipeline.respond_steps import FIT_PACKAGES, RESPOND_PACKAGES, engine_step_params
from study.pipeline.steps import StepOutput, run_step
from study.records import Participant

ARCHETYPE = "archetype:"
# torch and transformers compute the states in the driver's interpreter; their versions
# are in every request's key (the engine fingerprint), not in this process.
ACTIVATION_PACKAGES = ("numpy", "polars", "pyarrow")


def condition_label(persona: str) -> str:
    """The name C6's tables give a respond-step condition: ``role:NAME`` for a role
    (scored as the archetype ``role:NAME``), the condition itself otherwise.

    >>> condition_label("archetype:role:pirate"), condition_label("archetype:cautious")
    ('role:pirate', 'archetype:cautious')
    """
    rest = persona.removeprefix(ARCHETYPE)
    return rest if rest.startswith("role:") and persona.startswith(ARCHETYPE) else persona


def space_config(cfg: Config) -> tuple[Config, list[str]]:
    """``cfg`` with the role texts added to the archetypes, and the conditions C6 scores:
    none, own, other, every archetype, assistant, every role."""
    check(cfg.persona_space)
    roles = role_personas(cfg.persona_space)
    clash = set(roles) & set(cfg.persona_texts.archetypes)
    if clash:
        raise ConfigError(f"persona_space roles {sorted(clash)} clash with archetype names")
    archetypes = [ARCHETYPE + name for name in cfg.persona_texts.archetypes]
    texts = replace(cfg.persona_texts, archetypes={**cfg.persona_texts.archetypes, **roles})
    personas = ["none", "own", "other", *archetypes, "assistant", *(ARCHETYPE + r for r in roles)]
    return replace(cfg, persona_texts=texts), personas


def space_people(cfg: Config, people: list[Participant]) -> list[Participant]:
    """The sessions of the first ``persona_space.persons`` persons of each experiment."""
    from study.pipeline.analyses import first_per_experiment

    limit = cfg.persona_space.persons
    return people if limit is None else first_per_experiment(people, limit)


def chat_of(engine: EngineConfig, model: ModelConfig, request: str):
    """The scoring engine's chat framing of ``request`` for ``model`` (the `assistant`
    condition's prompt), as the function rendering asks for, so activations read the
    very prompt the NLLs were scored on. The engine is built for this and closed again
    (for llama.cpp a second or two); its template is read while it is open."""
    from study.engines.registry import build_engine

    built = build_engine(engine, model)
    try:
        framed = built.chat_prompt(request)
    finally:
        built.close()

    def chat(user: str) -> str | None:
        if user != request:
            raise ValueError(f"only {request!r} was framed, not {user!r}")
        return framed

    return chat


def without_assistant(cfg: Config, engine: EngineConfig, model: ModelConfig) -> str | None:
    """Why C6 cannot run on ``model`` (None when it can): the axis needs the `assistant`
    condition, the model's own chat framing (STUDY.md), and a model without a chat
    template (a base model such as Gemma 3 270M's GGUF) has none."""
    if chat_of(engine, model, cfg.persona_texts.assistant_request)(
        cfg.persona_texts.assistant_request
    ):
        return None
    return (
        "the model has no chat template, so no `assistant` condition (STUDY.md: the "
        "model's default assistant framing) and no assistant axis"
    )


def rendered_prompts(
    cfg: Config,
    people: list[Participant],
    personas: list[str],
    engine: EngineConfig,
    model: ModelConfig,
):
    """Every (person, condition) prompt as the respond step renders it."""
    from study.personas import parse_condition, render_all

    conditions = [parse_condition(p, cfg.persona_texts) for p in personas]
    chat = (
        chat_of(engine, model, cfg.persona_texts.assistant_request)
        if any(c.kind == "assistant" for c in conditions)
        else None
    )
    return render_all(people, conditions, cfg.persona_texts, cfg.preamble, seed=cfg.seed, chat=chat)


def activations_step(
    cfg: Config,
    root: Path,
    data: StepOutput,
    people: list[Participant],
    *,
    engine: EngineConfig,
    model: ModelConfig,
    personas: list[str],
) -> StepOutput:
    """The states of every (person, condition) prompt at the choice points, at the
    layers of ``activations.layers``, through the activations store (a killed step
    resumes with what it finished). ``keys.parquet`` has one row per choice point
    (experiment, participant, session, condition, index, the driver's nll and
    n_tokens); ``states.npy`` is float16 ``[rows, layers, hidden]``; ``layers.json``."""
    from study.activations import ActivationRequest, ActivationsEngine, activations
    from study.activations.store import ActivationStore
    from study.respond.progress import Progress

    if not model.gguf and not cfg.activations.weights:
        raise ConfigError(
            f"experiment=persona_space needs a language model's activations; model "
            f"{model.name!r} has no weights (engine=simulated has none: use engine=llamacpp)"
        )
    layers = None if cfg.activations.layers is None else tuple(cfg.activations.layers)
    params = {
        **engine_step_params(cfg, people, engine, model),
        "personas": personas,
        "persona_texts": asdict(cfg.persona_texts),
        "activations": {k: v for k, v in asdict(cfg.activations).items() if k != "store"},
    }

    def build(staged) -> dict[str, Any]:
        prompts = rendered_prompts(cfg, people, personas, engine, model)
        requests = [ActivationRequest.from_rendered(p, layers) for p in prompts]
        keys: list[dict[str, Any]] = []
        blocks: list[np.ndarray] = []
        recorded: tuple[int, ...] = ()
        transcripts: dict[tuple[str, str, int], int] = {}
        bar = Progress(len(requests), len(people), desc="activations")
        with ActivationsEngine(cfg.activations, model) as built:
            store = ActivationStore(Path(cfg.activations.store))
            fingerprint = dict(built.fingerprint())
            try:
                results = activations(built, store, requests, fresh=cfg.fresh)
                for prompt, result in zip(prompts, results, strict=True):
                    recorded = result.layers
                    blocks.append(result.states)
                    number = transcripts.setdefault(
                        (prompt.experiment, prompt.participant, prompt.session),
                        len(transcripts) + 1,
                    )
                    bar.advance(result.prompt_tokens, number, "activations")
                    for index, (nll, n_tokens) in enumerate(
                        zip(result.nll, result.n_tokens, strict=True)
                    ):
                        keys.append(
                            {
                                "experiment": prompt.experiment,
                                "participant": prompt.participant,
                                "session": prompt.session,
                                "persona": prompt.persona,
                                "condition": condition_label(prompt.persona),
                                "index": index,
                                "nll": nll,
                                "n_tokens": n_tokens,
                            }
                        )
            finally:
                bar.close()
        np.save(staged.path("states.npy"), np.concatenate(blocks).astype(np.float16))
        pl.DataFrame(keys).write_parquet(staged.path("keys.parquet"))
        staged.path("layers.json").write_text(json.dumps(list(recorded)) + "\n")
        return {"requests": len(requests), "rows": len(keys), "engine": fingerprint}

    return run_step(
        root,
        f"activations-{model.name}",
        params,
        build,
        code="study.pipeline.persona_space_steps:activations_step",
        packages=ACTIVATION_PACKAGES,
        inputs=[data],
    )


def space_fit_step(
    cfg: Config, root: Path, respond: StepOutput, states: StepOutput, label: str
) -> StepOutput:
    """C6's statistics for one model (study.persona_space): the axis table, drift and
    washout, and what the figures draw."""
    from study.pipeline.persona_space_fit import persona_space_outputs

    settings: dict[str, Any] = {
        "draws": cfg.pipeline.draws,
        "tune": cfg.pipeline.tune,
        "chains": cfg.pipeline.chains,
        "seed": cfg.seed,
    }
    params = {**settings, "persona_space": asdict(cfg.persona_space)}

    def build(staged) -> dict[str, Any]:
        scores = pl.read_parquet(respond.path / "respond" / "scores.parquet")
        keys = pl.read_parquet(states.path / "keys.parquet")
        values = np.load(states.path / "states.npy", mmap_mode="r")
        layers = json.loads((states.path / "layers.json").read_text())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed gate is recorded, not printed here
            outcome = persona_space_outputs(
                scores, keys, values, layers, cfg.persona_space, label, settings
            )
        outcome.save(staged.path)
        return {"passed": outcome.passed, "notes": outcome.notes}

    return run_step(
        root,
        f"persona_space-{label}",
        params,
        build,
        code="study.pipeline.persona_space_steps:space_fit_step",
        packages=(*FIT_PACKAGES, *RESPOND_PACKAGES),
        inputs=[respond, states],
        seed=cfg.seed,
    )
