"""C7 through the pipeline: the contract's files, the report section, resumption, with
the simulated engine (whose truth gives document personas a gain) and with SmolLM2."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from study.config import Config
from tests.pipeline.conftest import SHORT_CHAINS, make_config, pipeline_run

THOMA = "data.path=data/psych201/thoma2025riskychoice"
CONTRACT = ["model", "experiment", "source", "round", "alignment", "lower", "upper"]
SMALL = ["stakeholders.count=2", "stakeholders.choices=3", "stakeholders.persons=3"]


@pytest.fixture(scope="module")
def simulated_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    overrides = [
        "experiment=stakeholders",
        "engine=simulated",
        "data.limit=4",
        *SMALL,
        "engine.judge_documents_gain=1.0",
        "stakeholders.runs=5",
        *SHORT_CHAINS,
    ]
    return pipeline_run(tmp_path_factory, "stakeholders", overrides)


def _check_contract(out: Path, models: set[str]) -> pl.DataFrame:
    alignment = pl.read_csv(out / "tables" / "c7_stakeholders.csv")
    assert alignment.columns[: len(CONTRACT)] == CONTRACT
    assert set(alignment["model"]) == models
    assert set(alignment["source"]) == {"documents", "generic", "none"}
    assert (alignment["lower"] <= alignment["alignment"]).all()
    assert (alignment["alignment"] <= alignment["upper"]).all()
    shares = pl.read_csv(out / "tables" / "c7_shares.csv")
    assert {"component", "share", "lower", "upper"} <= set(shares.columns)
    assert {"item", "persona", "persona:item"} <= set(shares["component"])
    # The sampled judgements' binomial fit carries the run.
    sampled = shares.filter(pl.col("outcome") == "sampled")
    assert "run" in set(sampled["component"])
    assert abs(sampled["share"].sum() - 1.0) < 1e-6
    personas = [json.loads(line) for line in (out / "stakeholders" / "personas.jsonl").open()]
    documents = [p for p in personas if p["source"] == "documents"]
    assert documents and all(p["evidence"] and p["evidence_kind"] for p in documents)
    assert {p["source"] for p in personas} == {"documents", "generic"}
    return alignment


def test_the_simulated_run_writes_the_contract(simulated_run: tuple[Config, Path]) -> None:
    _, out = simulated_run
    alignment = _check_contract(out, {"simulated"})
    # Three experiments: per experiment and pooled rows; none judges in round 0 only.
    assert set(alignment["experiment"]) == {
        "all",
        "busch2024_stroop",
        "dezfouli2019",
        "thoma2025riskychoice",
    }
    assert alignment.filter(pl.col("source") == "none")["round"].unique().to_list() == [0]
    # The engine's truth gives document personas +1 log-odds over generic ones.
    gain = pl.read_csv(out / "tables" / "c7_gain.csv")
    assert gain["lower"][0] > 0
    report = (out / "report.md").read_text()
    assert "## C7: stakeholder personas" in report
    for figure in ("c7_alignment", "c7_shares"):
        assert (out / "figures" / f"{figure}.png").stat().st_size > 2_000
    verdicts = pl.read_csv(out / "tables" / "c7_verdicts.csv")
    # A gain of document personas and no debate shrinkage in the truth: C7 holds.
    assert verdicts["persons"][0] >= 5 and verdicts["verdict"][0] == "holds"


def test_a_rerun_reuses_every_step(
    simulated_run: tuple[Config, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from study.pipeline.stage import run

    cfg, out = simulated_run
    before = (out / "tables" / "c7_stakeholders.csv").read_bytes()
    run(cfg)
    assert "running into" not in capsys.readouterr().err
    assert (out / "tables" / "c7_stakeholders.csv").read_bytes() == before


def test_the_dry_run_shows_documents_and_prompts(capsys: pytest.CaptureFixture[str]) -> None:
    from study.pipeline.stage import run

    run(
        make_config(
            [
                "experiment=stakeholders",
                "engine=simulated",
                THOMA,
                "data.limit=2",
                *SMALL,
                "dry_run=true",
                "out=/nonexistent/never",
            ]
        )
    )
    shown = capsys.readouterr().out
    assert "thoma2025riskychoice: documents ['README.md', 'thoma2025riskychoice.md'" in shown
    assert "Name: <<" in shown and "judging requests" in shown
    assert not Path("/nonexistent/never").exists()


@pytest.mark.llm
@pytest.mark.slow
def test_smollm2_runs_the_whole_chain(tmp_path_factory: pytest.TempPathFactory) -> None:
    overrides = [
        "experiment=stakeholders",
        "pipeline.models=[smollm2_135m]",
        THOMA,
        "data.limit=3",
        "stakeholders.count=2",
        "stakeholders.choices=2",
        "stakeholders.persons=3",
        "stakeholders.max_document_chars=1500",
        "stakeholders.context_chars=600",
        "stakeholders.max_tokens=12",
        *SHORT_CHAINS,
    ]
    cfg, out = pipeline_run(tmp_path_factory, "stakeholders_smollm2", overrides)
    _check_contract(out, {"smollm2_135m"})
    judge = next((out / "stages").glob("judge-smollm2_135m-*"))
    judgements = pl.read_parquet(judge / "judgements.parquet")
    # Real judgements: probabilities over the two options that differ between judges.
    assert judgements["p_human"].is_between(0, 1).all()
    assert judgements["p_human"].n_unique() > 1
    # A judging step killed before its end marker runs again from the store: every
    # judgement was kept, none is computed twice, the same bytes come out.
    from study.pipeline.stage import run

    before = (judge / "judgements.parquet").read_bytes()
    (judge / "_done.json").unlink()
    run(cfg)
    done = json.loads((judge / "_done.json").read_text())
    assert done["computed"] == 0 and done["reused"] == judgements.height
    assert (judge / "judgements.parquet").read_bytes() == before
