"""The data and cards stages: outputs, summaries, determinism, committed cards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from study.config import Config
from study.data import load_tables
from study.data.loader import SHIPPED_DATA
from study.data.stage import run, run_cards

ROOT = Path(__file__).resolve().parents[2]


def data_config(out: Path, limit: int | None = None, path: Path = SHIPPED_DATA) -> Config:
    cfg = Config(stage="data", out=str(out))
    cfg.data.path = str(path)
    cfg.data.limit = limit
    return cfg


def test_command_line_writes_tables_summaries_and_cards(tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "study",
            "stage=data",
            f"data.path={SHIPPED_DATA}",
            "data.limit=4",
            f"out={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "choices.parquet",
        "data_cards",
        "figures",
        "participants.parquet",
        "profile_fields.csv",
        "summary.csv",
    ]
    participants = pl.read_parquet(out / "participants.parquet")
    choices = pl.read_parquet(out / "choices.parquet")
    expected_participants, expected_choices = load_tables(SHIPPED_DATA, limit=4)
    assert participants.equals(expected_participants)
    assert choices.equals(expected_choices)
    summary = pl.read_csv(out / "summary.csv")
    assert summary.select("experiment", "participants", "choices").rows() == [
        ("busch2024_stroop", 4, expected_choices.filter(experiment="busch2024_stroop").height),
        ("dezfouli2019", 4, expected_choices.filter(experiment="dezfouli2019").height),
        ("thoma2025riskychoice", 4, 36),
    ]
    fields = pl.read_csv(out / "profile_fields.csv")
    assert fields.select("experiment", "field", "type").rows() == [
        ("busch2024_stroop", "age", "number"),
        ("dezfouli2019", "diagnosis", "text"),
        ("thoma2025riskychoice", "age", "number"),
        ("thoma2025riskychoice", "gender", "text"),
        ("thoma2025riskychoice", "condition", "text"),
    ]
    assert sorted(p.name for p in (out / "data_cards").iterdir()) == [
        f"{name}.{ext}"
        for name in ("busch2024_stroop", "dezfouli2019", "thoma2025riskychoice")
        for ext in ("md", "yaml")
    ]


def test_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    outputs = []
    for attempt in ("first", "second"):
        run(data_config(tmp_path / attempt, limit=10))
        outputs.append(
            {
                p.relative_to(tmp_path / attempt): p.read_bytes()
                for p in sorted((tmp_path / attempt).rglob("*"))
                if p.is_file()
            }
        )
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 11


def test_rerunning_into_an_existing_folder_replaces_the_outputs(tmp_path: Path) -> None:
    out = tmp_path / "data"
    run(data_config(out, limit=2))
    run(data_config(out, limit=3))
    assert pl.read_parquet(out / "participants.parquet").height == 9
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_committed_cards_are_what_the_code_computes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # cards show paths relative to the project
    cfg = Config(stage="cards", out=str(tmp_path / "cards"))
    cfg.data.path = "data/psych201"
    run_cards(cfg)
    committed = ROOT / "data_cards"
    generated = sorted(p.name for p in (tmp_path / "cards").iterdir())
    assert generated == sorted(p.name for p in committed.iterdir() if p.suffix in {".md", ".yaml"})
    for name in generated:
        assert (tmp_path / "cards" / name).read_text() == (committed / name).read_text(), (
            f"data_cards/{name} is stale: run `python -m study stage=cards out=data_cards`"
        )


def test_cards_state_provenance_counts_and_options() -> None:
    import yaml

    cards = {p.stem: yaml.safe_load(p.read_text()) for p in (ROOT / "data_cards").glob("*.yaml")}
    assert {name: card["counts"]["participants"] for name, card in cards.items()} == {
        "busch2024_stroop": 125,
        "dezfouli2019": 101,
        "thoma2025riskychoice": 301,
    }
    for card in cards.values():
        assert card["licence"].startswith("Apache-2.0")
        assert len(card["citation"]) == 2 and "Psych-201" in card["citation"][1]
        assert card["source"]["commit"] == "c63dea18897393b706227b50024b27fa8d8907d8"
    assert cards["dezfouli2019"]["options"] == ["L", "R"]
    assert cards["busch2024_stroop"]["options"] == ["down", "left", "right"]
    assert cards["thoma2025riskychoice"]["options"] is None
    assert all(card["discrete"] for card in cards.values())
    assert "Dezfouli" in cards["dezfouli2019"]["citation"][0]
    assert cards["thoma2025riskychoice"]["fields"]["gender"]["top"] == {"Female": 155, "Male": 146}
