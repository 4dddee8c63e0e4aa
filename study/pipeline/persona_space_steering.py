"""C6's steering step: push the model along its own assistant axis and watch its answers.

For each alpha of ``persona_space.steering`` (in standard deviations of the projection
on the axis), alpha x sd x axis is added to the middle layer's output at every position
of each person's ``steering_condition`` prompt (default ``none``), through the
activations engine. Per choice point it records the NLL of the person's actual
response and, where the experiment's options are single tokens, the option
distribution (each option's probability as the response's first token, renormalised
over the options), its total-variation distance from the unsteered distribution
(alpha 0) at the same point, and the mass the options keep. ``steering.csv`` has one row
per (alpha, choice point); ``dose.csv`` the dose-response per alpha, persons weighing
equally.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from study.config import Config
from study.data.options import options_for
from study.engines.config import EngineConfig, ModelConfig
from study.pipeline.persona_space_steps import ACTIVATION_PACKAGES, rendered_prompts
from study.pipeline.steps import StepOutput, run_step
from study.records import Participant

POINT = ["experiment", "participant", "session", "index"]


def steering_requests(
    cfg: Config,
    people: list[Participant],
    model: ModelConfig,
    engine: EngineConfig,
    steer: tuple[np.ndarray, float, int],
) -> list[tuple[float, Any, Any]]:
    """(alpha, rendered prompt, request) for every alpha and steered prompt; alpha 0 is
    the unsteered model. No states are kept (``layers=()``): only NLLs and options."""
    from study.activations import ActivationRequest

    axis, scale, layer = steer
    condition = cfg.persona_space.steering_condition
    prompts = rendered_prompts(cfg, people, [condition], engine, model)
    by_person = {(p.experiment, p.participant): p for p in people}
    out = []
    for alpha in cfg.persona_space.steering:
        vector = tuple(float(v) for v in alpha * scale * axis)
        for prompt in prompts:
            options = options_for(by_person[(prompt.experiment, prompt.participant)]) or ()
            plain = replace(ActivationRequest.from_rendered(prompt, layers=()), options=options)
            steered = replace(plain, steer_layer=layer, steer=vector)
            out.append((float(alpha), prompt, plain if alpha == 0 else steered))
    return out


def point_rows(
    alpha: float, prompt: Any, result: Any, person: Participant, options: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One row per choice point of a steered prompt's result."""
    rows = []
    for index, nll in enumerate(result.nll):
        row: dict[str, Any] = {
            "alpha": alpha,
            "experiment": prompt.experiment,
            "participant": prompt.participant,
            "session": prompt.session,
            "index": index,
            "nll": nll,
        }
        if result.option_logprobs:
            logp = np.asarray(result.option_logprobs[index], dtype=float)
            mass = np.exp(logp)
            response = person.choices[index].response if index < len(person.choices) else None
            row["on_options"] = float(mass.sum())
            row["distribution"] = json.dumps((mass / mass.sum()).round(12).tolist())
            row["p_response"] = (
                float(mass[options.index(response)] / mass.sum())
                if response in options
                else float("nan")
            )
        rows.append(row)
    return rows


def with_distance(points: pd.DataFrame) -> pd.DataFrame:
    """``tv``: the total-variation distance of each point's option distribution from
    the unsteered one (alpha 0) at the same choice point."""
    if "distribution" not in points:
        return points.assign(tv=np.nan)
    reference = points[points["alpha"] == 0].set_index(POINT)["distribution"]

    def distance(row: pd.Series) -> float:
        base = reference.get(tuple(row[c] for c in POINT))
        if not isinstance(row["distribution"], str) or not isinstance(base, str):
            return float("nan")
        return 0.5 * float(
            np.abs(np.array(json.loads(row["distribution"])) - json.loads(base)).sum()
        )

    return points.assign(tv=points.apply(distance, axis=1))


def dose_response(points: pd.DataFrame, model: str) -> pd.DataFrame:
    """Per alpha: each measure's mean over persons (each person's mean first), its
    standard error over persons, and the sizes."""
    measures = [m for m in ("nll", "p_response", "tv", "on_options") if m in points]
    per_person = points.groupby(["alpha", "experiment", "participant"])[measures].mean()
    grouped = per_person.groupby(level="alpha")
    errors = grouped.sem().add_suffix("_se")
    sizes = pd.DataFrame({"n_persons": grouped.size(), "n_points": points.groupby("alpha").size()})
    return grouped.mean().join(errors).join(sizes).reset_index().assign(model=model)


def steering_step(
    cfg: Config,
    root: Path,
    data: StepOutput,
    people: list[Participant],
    fitted: StepOutput,
    *,
    engine: EngineConfig,
    model: ModelConfig,
) -> StepOutput:
    """The dose-response of the model's answers to the assistant axis (module doc)."""
    from study.activations import ActivationsEngine, activations
    from study.activations.store import ActivationStore
    from study.pipeline.respond_steps import engine_step_params
    from study.respond.progress import Progress

    params = {
        **engine_step_params(cfg, people, engine, model),
        "steering": cfg.persona_space.steering,
        "steering_condition": cfg.persona_space.steering_condition,
        "persona_texts": asdict(cfg.persona_texts),
        "activations": {k: v for k, v in asdict(cfg.activations).items() if k != "store"},
    }

    def build(staged) -> dict[str, Any]:
        summary = json.loads((fitted.path / "c6.json").read_text())
        axis = np.load(fitted.path / "axis.npy")
        scale, layer = summary["projection_sd"], summary["middle_layer"]
        planned = steering_requests(cfg, people, model, engine, (axis, scale, layer))
        by_person = {(p.experiment, p.participant): p for p in people}
        rows: list[dict[str, Any]] = []
        bar = Progress(len(planned), len(people), desc="steering")
        numbers = {key: n for n, key in enumerate(by_person, start=1)}
        with ActivationsEngine(cfg.activations, model) as built:
            store = ActivationStore(Path(cfg.activations.store))
            try:
                results = activations(built, store, [r for _, _, r in planned], fresh=cfg.fresh)
                for (alpha, prompt, request), result in zip(planned, results, strict=True):
                    person = by_person[(prompt.experiment, prompt.participant)]
                    rows += point_rows(alpha, prompt, result, person, request.options)
                    number = numbers[(prompt.experiment, prompt.participant)]
                    bar.advance(result.prompt_tokens, number, "steering")
            finally:
                bar.close()
        points = with_distance(pd.DataFrame(rows))
        points.drop(columns="distribution", errors="ignore").to_csv(
            staged.path("steering.csv"), index=False
        )
        dose = dose_response(points, model.name)
        dose.to_csv(staged.path("dose.csv"), index=False)
        return {"alphas": len(cfg.persona_space.steering), "points": len(points), "scale": scale}

    return run_step(
        root,
        f"steering-{model.name}",
        params,
        build,
        code="study.pipeline.persona_space_steering:steering_step",
        packages=ACTIVATION_PACKAGES,
        inputs=[data, fitted],
    )
