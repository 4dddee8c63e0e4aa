"""C4 end to end on the shipped experiments with the simulated engine, whose hosting
leakage and cross-talk are known: the contract table, recovery of both, the report
section, a rerun that computes nothing, and a dry run that writes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from study.config import Config
from tests.pipeline.conftest import SHORT_CHAINS, pipeline_run

ROOT = Path(__file__).resolve().parents[2]
LEAKAGE, CROSSTALK = 0.3, 0.2
CONTRACT = [
    "model",
    "experiment",
    "design",
    "statistic",
    "estimate",
    "lower",
    "upper",
    "n_persons",
    "verdict",
    "diagnostics",
]
HOSTING = [
    "experiment=hosting",
    "engine=simulated",
    f"engine.hosting_leakage={LEAKAGE}",
    f"engine.hosting_crosstalk={CROSSTALK}",
    *SHORT_CHAINS,
]


@pytest.fixture(scope="module")
def hosting_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    return pipeline_run(tmp_path_factory, "hosting", HOSTING)


def test_table_follows_the_contract(hosting_run: tuple[Config, Path]) -> None:
    _, out = hosting_run
    table = pd.read_csv(out / "tables" / "c4_hosting.csv")
    assert set(CONTRACT) <= set(table.columns)
    assert set(table["design"]) == {"cohosted", "interleaved", "sampled"}
    assert set(table["statistic"]) == {
        "leakage",
        "delta_nll",
        "crosstalk_ratio",
        "benefit_alone",
        "benefit_cohosted",
        "persona_share_alone",
        "persona_share_cohosted",
    }
    bounded = table.dropna(subset=["lower", "upper"])
    assert (bounded["lower"] <= bounded["estimate"]).all()
    assert (bounded["estimate"] <= bounded["upper"]).all()
    # A row without an interval (an experiment of one probed person) says so.
    unbounded = table.drop(bounded.index)
    assert (unbounded["verdict"] == "no interval").all()
    assert (table["n_persons"] > 0).all()
    assert set(table["model"]) == {"simulated"}


def test_simulated_leakage_and_crosstalk_are_recovered(hosting_run: tuple[Config, Path]) -> None:
    _, out = hosting_run
    table = pd.read_csv(out / "tables" / "c4_hosting.csv").set_index(["statistic", "experiment"])
    leakage = table.loc[("leakage", "(pooled)")]
    ratio = table.loc[("crosstalk_ratio", "(pooled)")]
    assert leakage["diagnostics"] == "passed"
    assert leakage["lower"] <= LEAKAGE <= leakage["upper"]
    assert ratio["lower"] <= CROSSTALK <= ratio["upper"]
    # Leakage 0.3 is above the blend threshold only when its interval says so.
    assert "fails" not in leakage["verdict"] or leakage["lower"] > 0.25


def test_leakage_per_factor_level_and_cost_per_design(hosting_run: tuple[Config, Path]) -> None:
    _, out = hosting_run
    factors = pd.read_csv(out / "tables" / "c4_leakage_factors.csv", dtype={"level": str})
    levels = {(f, str(level)) for f, level in zip(factors["factor"], factors["level"], strict=True)}
    assert levels == {
        ("k", "2"),
        ("k", "4"),
        ("position", "first"),
        ("position", "last"),
        ("partners", "similar"),
        ("partners", "contrasting"),
    }
    # The truth is one lambda for every setting: each level's interval holds it.
    passed = factors[factors["diagnostics"] == "passed"]
    assert len(passed) >= 5
    assert ((passed["lower"] <= LEAKAGE) & (passed["upper"] >= LEAKAGE)).all()
    cost = pd.read_csv(out / "tables" / "c4_cost.csv")
    assert set(cost["design"]) == {"alone", "cohosted", "interleaved", "solo", "probe"}
    assert (cost["scored_choices"] > 0).all()


def test_report_has_the_c4_section_with_its_verdict(hosting_run: tuple[Config, Path]) -> None:
    _, out = hosting_run
    report = (out / "report.md").read_text()
    assert "## C4: hosting" in report
    verdicts = pd.read_csv(out / "tables" / "c4_verdicts.csv")
    (verdict,) = verdicts["c4"]
    assert f"**simulated**: C4 {verdict}" in report
    assert (out / "figures" / "c4_hosting.png").exists()
    assert (out / "figures" / "c4_leakage.png").exists()


def test_a_rerun_computes_nothing(hosting_run: tuple[Config, Path]) -> None:
    from study.pipeline.stage import run

    cfg, out = hosting_run
    before = {p: p.stat().st_mtime_ns for p in (out / "stages").glob("hosting-*/_done.json")}
    run(cfg)
    after = {p: p.stat().st_mtime_ns for p in (out / "stages").glob("hosting-*/_done.json")}
    assert before and before == after


def test_dry_run_shows_a_cohosted_and_an_interleaved_prompt(tmp_path: Path) -> None:
    out = tmp_path / "dry"
    shown = subprocess.run(
        [sys.executable, "-m", "study", *HOSTING, "dry_run=true", f"out={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not out.exists(), "a dry run writes nothing"
    for design in ("cohosted", "interleaved", "probe"):
        assert f"/ design {design} (" in shown
    assert "The session below is Person" in shown  # the attribution line, from conf/hosting
    assert "Person B: " in shown  # an interleaved turn of the partner
