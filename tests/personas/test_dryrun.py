"""``python -m study stage=respond ... personas=[own] dry_run=true`` shows the opening of
each (experiment, persona)'s first prompt, as the model reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from study.personas import PersonaCondition, render_all
from tests.personas.helpers import DATA, composed, shipped

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ["busch2024_stroop", "dezfouli2019", "thoma2025riskychoice"]


def test_dry_run_shows_the_opening_of_each_first_own_prompt(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "study",
            "stage=respond",
            f"data.path={DATA}",
            "data.limit=3",
            "personas=[own]",
            "dry_run=true",
            f"out={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    shown = result.stdout
    assert not out.exists(), "a dry run writes nothing"
    cfg = composed()
    for experiment in EXPERIMENTS:
        people = shipped(experiment, limit=3)
        prompts = render_all(
            people, [PersonaCondition("own")], cfg.persona_texts, cfg.preamble, seed=cfg.seed
        )
        first = prompts[0]
        header = f"=== {experiment} / participant {first.participant} / persona own"
        assert header in shown
        block = shown[shown.index(header) :].split("\n", 1)[1]
        opening = first.prompt[: max(600, min(len(first.prompt), 1500))]
        assert len(opening) >= 600
        assert block.startswith(opening), experiment
        assert opening.startswith("Interviewer: ")
    # dezfouli2019's healthy controls have no preamble, hence no `own` prompt.
    diagnosed = [p for p in shipped("dezfouli2019", limit=3) if p.profile["diagnosis"] != "Healthy"]
    assert 0 < len(diagnosed) < 3
    assert f"  dezfouli2019 / own: {len(diagnosed)}, " in shown
