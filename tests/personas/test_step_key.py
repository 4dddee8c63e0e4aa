"""The pipeline's respond step is keyed by the preamble config: another preamble (or
length limit) is another step, never a reuse of prompts the model did not read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from study.pipeline.respond_steps import respond_step
from study.pipeline.steps import StepOutput
from tests.personas.helpers import composed, person


def test_respond_step_key_follows_the_preamble(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []

    def fake_respond(cfg, people):
        seen.append(cfg.preamble.name)
        return SimpleNamespace(computed=0, reused=0, scores=pl.DataFrame(), samples=pl.DataFrame())

    monkeypatch.setattr("study.respond.stage.respond", fake_respond)
    data = StepOutput("data", "d" * 64, tmp_path / "data", reused=True)
    people = [person("1", age=30.0), person("2", age=40.0)]

    def step(*overrides: str) -> StepOutput:
        cfg = composed(*overrides)
        return respond_step(
            cfg,
            tmp_path,
            data,
            people,
            engine=cfg.engine,
            model=cfg.model,
            personas=["own"],
            runs=0,
        )

    paper = step()
    assert step().key == paper.key and step().reused
    clean = step("preamble=clean")
    uncut = step("preamble.max_prompt_chars=null")
    assert len({paper.key, clean.key, uncut.key}) == 3
    assert seen == ["paper", "clean", "paper"]
