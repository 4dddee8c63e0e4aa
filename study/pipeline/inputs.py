"""What the pipeline's first steps read: participants, from shipped data or the generator."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import polars as pl

from study.config import Config
from study.data import iter_participants
from study.data.truncate import first_choices
from study.pipeline.steps import StepOutput, run_step
from study.records import Participant

# The distributions whose versions key these steps (with the code's version).
PACKAGES = ("polars", "pyarrow", "numpy")


def files_digest(path: Path) -> str:
    """sha256 over the files under ``path`` (names and bytes): a changed data file
    changes every step downstream of it."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path.parent)).encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def load_people(path: Path, limit: int | None, max_choices: int | None) -> list[Participant]:
    people = iter_participants(path, limit=limit)
    if max_choices is None:
        return list(people)
    return [first_choices(p, max_choices) for p in people]


def people_table(people: list[Participant]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "experiment": [p.experiment for p in people],
            "participant": [p.participant for p in people],
            "session": [p.session for p in people],
            "n_choices": [len(p.choices) for p in people],
            "transcript_chars": [len(p.transcript) for p in people],
        }
    )


def data_step(cfg: Config, root: Path) -> tuple[StepOutput, list[Participant]]:
    """The participants of ``cfg.data``, cut to ``cfg.pipeline.max_choices``."""
    path = Path(cfg.data.path)
    params = {
        "data": files_digest(path),
        "limit": cfg.data.limit,
        "max_choices": cfg.pipeline.max_choices,
    }
    people = load_people(path, cfg.data.limit, cfg.pipeline.max_choices)

    def build(staged) -> dict:
        people_table(people).write_parquet(staged.path("participants.parquet"))
        return {"participants": len(people), "path": str(path)}

    return run_step(
        root, "data", params, build, code="study.pipeline.inputs:data_step", packages=PACKAGES
    ), people


def synth_step(cfg: Config, root: Path) -> tuple[StepOutput, list[Participant]]:
    """A synthetic experiment from ``cfg.synth`` (the simulation analysis)."""
    from study.synth.stage import run as run_synth

    def build(staged) -> dict:
        folder = staged.path("synth")
        run_synth(replace(cfg, out=str(folder)))
        return {"participants": cfg.synth.participants}

    step = run_step(
        root,
        "synth",
        {"synth": vars(cfg.synth)},
        build,
        code="study.pipeline.inputs:synth_step",
        packages=PACKAGES,
        seed=cfg.synth.seed,
    )
    people = load_people(step.path / "synth", None, cfg.pipeline.max_choices)
    return step, people
