"""C5 end to end on the shipped experiments with the simulated engine: the contract
tables, the selection's invariants recomputed from the candidates table, the report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from study.config import Config
from tests.pipeline.conftest import SHORT_CHAINS, make_config, pipeline_run

CONDITIONS = {
    "none",
    "own",
    "fitted_own",
    "fitted_other",
    "oracle",
    "cognitive_model",
    "generated_own",
    "generated_other",
}


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    overrides = ["experiment=fitted_personas", "engine=simulated", *SHORT_CHAINS]
    return pipeline_run(tmp_path_factory, "fitted", overrides)


def test_tables_follow_the_contract(fitted_run: tuple[Config, Path]) -> None:
    _, out = fitted_run
    table = pd.read_csv(out / "tables" / "c5_fitted_personas.csv")
    assert {"model", "experiment", "condition", "heldout_nll", "n_persons", "n_choices"} <= set(
        table.columns
    )
    assert set(table["condition"]) == CONDITIONS
    assert "(pooled)" in set(table["experiment"])
    candidates = pd.read_csv(out / "tables" / "c5_candidates.csv")
    assert {
        "model",
        "experiment",
        "participant",
        "candidate",
        "nll_first_k",
        "nll_heldout",
        "selected",
    } <= set(candidates.columns)
    assert candidates.groupby(["experiment", "participant"]).size().eq(12).all()


def test_the_selection_is_the_best_candidate_on_the_first_k(
    fitted_run: tuple[Config, Path],
) -> None:
    _, out = fitted_run
    candidates = pd.read_csv(out / "tables" / "c5_candidates.csv")
    conditions = pd.read_csv(out / "tables" / "c5_fitted_personas.csv").set_index(
        ["experiment", "condition"]
    )
    for _, rows in candidates.groupby(["experiment", "participant"]):
        assert rows["selected"].sum() == 1 and rows["oracle"].sum() == 1
        chosen = rows[rows["selected"]].iloc[0]
        assert chosen["nll_first_k"] == rows["nll_first_k"].min()
        assert rows[rows["oracle"]].iloc[0]["nll_heldout"] == rows["nll_heldout"].min()
    # Per experiment the oracle is a ceiling: never worse than the fitted persona.
    for experiment in candidates["experiment"].unique():
        oracle = conditions.loc[(experiment, "oracle"), "heldout_nll"]
        assert oracle <= conditions.loc[(experiment, "fitted_own"), "heldout_nll"] + 1e-12


def test_generated_personas_keep_their_best_text_and_reach_v2(
    fitted_run: tuple[Config, Path],
) -> None:
    import json

    cfg, out = fitted_run
    manifest = json.loads(next((out / "manifests").rglob("fitted_personas-*.json")).read_text())
    texts = pd.read_csv(Path(manifest["steps"]["generated"]) / "generated.csv")
    # The quick profile: two persons per experiment, the first write and one refinement.
    assert texts.groupby("experiment")["participant"].nunique().eq(2).all()
    assert set(texts["round"]) == {0, cfg.fitted.generated.rounds}
    for _, rows in texts.groupby(["experiment", "participant"]):
        scored = rows.dropna(subset=["nll_first_k"])
        assert rows["kept"].sum() == (1 if len(scored) else 0)
        if len(scored):
            assert rows[rows["kept"]].iloc[0]["nll_first_k"] == scored["nll_first_k"].min()
    benefits = pd.read_csv(out / "tables" / "c5_benefits.csv")
    assert "generated_person_specific" in set(benefits["contrast"])
    assert "Generated personas" in (out / "report.md").read_text()


def test_report_has_the_c5_section(fitted_run: tuple[Config, Path]) -> None:
    _, out = fitted_run
    report = (out / "report.md").read_text()
    assert "## C5: fitted personas" in report
    assert "**simulated**: C5 " in report
    assert (out / "figures" / "c5_fitted_personas.png").exists()


def test_dry_run_shows_the_candidate_prompts_and_writes_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    from study.fitted.config import library

    out = tmp_path / "dry"
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "study",
            "experiment=fitted_personas",
            "engine=simulated",
            "dry_run=true",
            f"out={out}",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not out.exists(), "a dry run writes nothing"
    cfg = make_config(["experiment=fitted_personas"])
    first, text = next(iter(library(cfg.fitted).items()))
    assert f"/ persona archetype:{first} (" in shown
    assert text.strip().splitlines()[-1] in shown  # the candidate's own sentences
    assert "requests: " in shown
    assert "##### generated personas: 6 persons, 2 rounds" in shown
    assert "describe how this participant makes their choices" in shown
