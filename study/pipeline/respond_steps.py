"""Engine and variance steps of the pipeline: respond (score/sample), V1 and V2 fits."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import polars as pl

from study.config import Config
from study.engines.config import EngineConfig, ModelConfig
from study.pipeline.steps import StepOutput, digest, run_step
from study.records import Participant

# The distributions whose versions key each kind of step (with the code's version).
RESPOND_PACKAGES = ("polars", "pyarrow", "numpy")
FIT_PACKAGES = (
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "xarray",
    "numpy",
    "scipy",
    "statsmodels",
    "pandas",
    "polars",
)
# Per engine: the libraries that compute its numbers in this process. A server's
# version (vllm_server, openai) is in the engine's fingerprint, which keys each request.
ENGINE_PACKAGES: dict[str, tuple[str, ...]] = {
    "llamacpp": ("llama-cpp-python",),
    "vllm": ("vllm", "torch", "transformers"),
}


def engine_identity(engine: EngineConfig, model: ModelConfig) -> dict[str, str]:
    """What identifies an engine's results without starting it: its code's version and
    the model file's sha256 (remembered by path, size and mtime, so this is cheap). The
    engine's own fingerprint, which keys every request, holds the same and more."""
    from study.code_version import code_version
    from study.engines.models import file_sha256, resolve_gguf
    from study.engines.registry import ENGINES

    module = ENGINES[engine.name].split(":")[0] if engine.name in ENGINES else ""
    return {
        "engine_code_version": code_version(module) if module else "",
        "model_sha256": file_sha256(resolve_gguf(model)) if model.gguf else "",
    }


def engine_step_params(
    cfg: Config, people: list[Participant], engine: EngineConfig, model: ModelConfig
) -> dict[str, Any]:
    """What keys every engine step: which people (a subset of the data step's, in the
    sampled analyses), the engine and model, sampling, the preamble and the seed."""
    return {
        "participants": digest(
            [[p.experiment, p.participant, p.session, len(p.choices)] for p in people]
        ),
        "engine": asdict(engine),
        "model": asdict(model),
        "sampling": asdict(cfg.sampling),
        "preamble": asdict(cfg.preamble),
        "seed": cfg.seed,
        **engine_identity(engine, model),
    }


def respond_step(
    cfg: Config,
    root: Path,
    data: StepOutput,
    people: list[Participant],
    *,
    engine: EngineConfig,
    model: ModelConfig,
    personas: list[str],
    runs: int,
) -> StepOutput:
    """Scores (and, with runs > 0, samples) of ``people`` under ``personas``. Requests
    go through the shared store ``ROOT/responses/``, so a killed step resumes."""
    from study.respond.stage import respond

    params = {
        **engine_step_params(cfg, people, engine, model),
        "personas": personas,
        "runs": runs,
        "persona_texts": asdict(cfg.persona_texts),
    }

    def build(staged) -> dict[str, Any]:
        folder = staged.path("respond")
        sub = replace(
            cfg,
            out=str(folder),
            engine=engine,
            model=model,
            personas=personas,
            runs=runs,
            store=str(root / "responses"),
            dry_run=False,
        )
        outcome = respond(sub, people)
        return {
            "computed": outcome.computed,
            "reused": outcome.reused,
            "engine": engine_fingerprint(outcome.scores, outcome.samples),
        }

    return run_step(
        root,
        f"respond-{model.name}",
        params,
        build,
        code="study.pipeline.respond_steps:respond_step",
        packages=(*RESPOND_PACKAGES, *ENGINE_PACKAGES.get(engine.name, ())),
        inputs=[data],
    )


def engine_fingerprint(*frames: pl.DataFrame) -> dict[str, str]:
    """The fingerprint of the engine that answered (every response row carries it)."""
    for frame in frames:
        if frame.height and "engine_settings" in frame.columns:
            return json.loads(frame["engine_settings"][0])
    return {}


PERSON = "person"
V1_FACTORS = [PERSON, "persona", f"{PERSON}:persona", "item"]


def person_column(experiment: str = "experiment", participant: str = "participant") -> pl.Expr:
    """The person factor, ``experiment/participant``: ids repeat across experiments
    (STUDY.md, "Participant"), so a bare id would merge different people.

    >>> frame = pl.DataFrame({"experiment": ["a", "b"], "participant": ["1", "1"]})
    >>> frame.select(person_column())["person"].to_list()
    ['a/1', 'b/1']
    """
    return pl.concat_str(pl.col(experiment), pl.col(participant), separator="/").alias(PERSON)


def v1_step(cfg: Config, root: Path, respond: StepOutput, label: str) -> StepOutput:
    """V1 on sampled runs: does the sample equal the human's response? Person
    (experiment, participant; their sessions share it), persona, person x persona and
    item (the choice point) crossed; runs are the residual."""
    from study.variance import fit, save_fit

    factors = list(V1_FACTORS)
    settings: dict[str, Any] = {
        "draws": cfg.pipeline.draws,
        "tune": cfg.pipeline.tune,
        "chains": cfg.pipeline.chains,
        "seed": cfg.seed,
    }

    def build(staged) -> dict[str, Any]:
        samples = pl.read_parquet(respond.path / "respond" / "samples.parquet")
        frame = samples.with_columns(
            person_column(),
            match=pl.col("match").cast(pl.Int64),
            item=pl.concat_str(
                pl.col("experiment"), pl.col("choice").cast(pl.String), separator=":"
            ),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed gate is recorded, not printed here
            result = fit(
                frame,
                outcome="match",
                factors=factors,
                family="bernoulli",
                residual="run",
                **settings,
            )
        save_fit(result, staged.path, persona="persona")
        return {"passed": result.passed}

    return run_step(
        root,
        f"v1-{label}",
        {"factors": factors, **settings},
        build,
        code="study.pipeline.respond_steps:v1_step",
        packages=FIT_PACKAGES,
        inputs=[respond],
    )


def v2_step(cfg: Config, root: Path, respond: StepOutput, label: str) -> StepOutput:
    """V2 on scored NLLs (none / own / other): the profile and person-specific benefits,
    pooled and per experiment, beside the Psych-201 paper's Cohen's d. Writes
    ``notes.json``: the experiments V2 left out of a contrast, and why."""
    from study.variance.individuation import Columns, cohens_d_table, individuation
    from study.variance.outputs import save_individuation

    settings: dict[str, Any] = {
        "draws": cfg.pipeline.draws,
        "tune": cfg.pipeline.tune,
        "chains": cfg.pipeline.chains,
        "seed": cfg.seed,
        "rope": cfg.pipeline.rope,
    }

    def build(staged) -> dict[str, Any]:
        scores = pl.read_parquet(respond.path / "respond" / "scores.parquet")
        columns = Columns(index="choice")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed gate is recorded, not printed here
            result = individuation(scores, columns=columns, **settings)
        # benefit.csv, diagnostics.csv, posterior.nc and notes.json (experiments left out
        # of a contrast, no `own` or `other` rows, ..., and retries).
        save_individuation(result, staged.path, plots=False)
        cohens_d_table(scores, columns=columns).to_csv(staged.path("cohens_d.csv"), index=False)
        return {"passed": result.passed, "notes": result.notes}

    return run_step(
        root,
        f"v2-{label}",
        settings,
        build,
        code="study.pipeline.respond_steps:v2_step",
        packages=FIT_PACKAGES,
        inputs=[respond],
    )
