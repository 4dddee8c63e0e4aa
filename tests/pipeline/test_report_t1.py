"""The T1 path end to end (replicate_psych201 on the shipped data with the simulated
engine -> V2 -> tables and report), and the paper's d recomputed here, independently,
from the respond step's scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from study.config import Config
from tests.pipeline.conftest import make_config

PAPER_D = ["model", "experiment", "mean_none", "sd_none", "n_none", "mean_own", "sd_own"]
PAPER_D += ["n_own", "d"]


@pytest.fixture(scope="module")
def t1_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    from study.pipeline.stage import run

    out = tmp_path_factory.mktemp("t1")
    cfg = make_config(
        [
            "experiment=replicate_psych201",
            "engine=simulated",
            "model=simulated",
            "pipeline.models=[]",
            "data.limit=4",
            "pipeline.max_choices=6",
            "pipeline.draws=500",
            "pipeline.tune=500",
            "pipeline.chains=2",
            f"out={out}",
        ]
    )
    run(cfg)
    return cfg, out


def _scores(out: Path) -> pd.DataFrame:
    (manifest,) = [json.loads(p.read_text()) for p in (out / "manifests").glob("*.json")]
    return pd.read_parquet(Path(manifest["steps"]["respond"]) / "respond" / "scores.parquet")


def _recomputed(scores: pd.DataFrame) -> dict[str, tuple[float, int, int]]:
    """The paper's d, written out with numpy: population SDs of all response rows."""
    found = {}
    for experiment, rows in scores.groupby("experiment"):
        none = rows.loc[rows["persona"] == "none", "nll"].to_numpy(dtype=float)
        own = rows.loc[rows["persona"] == "own", "nll"].to_numpy(dtype=float)
        if own.size == 0:
            continue
        pooled = np.sqrt((none.std(ddof=0) ** 2 + own.std(ddof=0) ** 2) / 2)
        found[str(experiment)] = ((none.mean() - own.mean()) / pooled, none.size, own.size)
    return found


def test_tables_carry_the_papers_d_recomputed_independently(
    t1_run: tuple[Config, Path],
) -> None:
    _, out = t1_run
    expected = _recomputed(_scores(out))
    assert len(expected) == 3  # the three shipped experiments all have profile fields
    paper = pd.read_csv(out / "tables" / "t1_paper_d.csv")
    benefit = pd.read_csv(out / "tables" / "t1_profile_benefit.csv")
    assert list(paper.columns) == PAPER_D
    assert list(benefit.columns[:5]) == ["model", "experiment", "cohens_d", "n_none", "n_own"]
    for table, column in ((paper, "d"), (benefit, "cohens_d")):
        assert sorted(table["experiment"]) == sorted(expected)
        for row in table.itertuples():
            d, n_none, n_own = expected[row.experiment]
            assert abs(getattr(row, column) - d) < 1e-9, (row.experiment, column)
            assert (row.n_none, row.n_own) == (n_none, n_own)


def test_the_packages_own_statistics_sit_beside_not_in_place(
    t1_run: tuple[Config, Path],
) -> None:
    _, out = t1_run
    benefit = pd.read_csv(out / "tables" / "t1_profile_benefit.csv")
    for column in ("paired_participant_d", "profile_benefit", "profile_benefit_lower"):
        assert column in benefit.columns
    assert "d" not in benefit.columns
    # A different statistic: participants' means and sample SDs, paired.
    assert not np.allclose(benefit["paired_participant_d"], benefit["cohens_d"])
    per_model = pd.read_csv(out / "tables" / "t1_per_model.csv")
    (row,) = per_model.itertuples()
    assert row.mean_d == pytest.approx(benefit["cohens_d"].mean(), abs=1e-12)
    assert row.in_paper_band == (abs(row.mean_d) <= 0.03)
    assert row.profile_benefit_verdict in {"inside", "outside", "undecided", "FAILED"}
    for name in ("t1_paper_d.png", "t1_profile_benefit.png"):
        assert (out / "figures" / name).stat().st_size > 1000


def _undonored(cfg: Config) -> int:
    """Persons with a preamble but no donor whose preamble differs, from the personas
    module itself (not from the scores the report counts)."""
    from study.data import iter_participants
    from study.personas.derangement import assign_donors
    from study.personas.render import _compiled

    people = list(iter_participants(cfg.data.path, limit=cfg.data.limit))
    compiled = _compiled(cfg.preamble)
    donors = assign_donors(people, cfg.seed, lambda p: compiled.text(p.experiment, p.profile))
    return len(donors.undonored)


def test_report_states_the_evidence_and_the_band(t1_run: tuple[Config, Path]) -> None:
    cfg, out = t1_run
    scores = _scores(out)
    report = (out / "report.md").read_text()
    section = report[report.index("## T1") : report.index("## Provenance")]
    persons = scores[["experiment", "participant"]].drop_duplicates().shape[0]
    points = scores[["experiment", "participant", "choice"]].drop_duplicates().shape[0]
    assert f"{persons} persons in 3 experiments" in section
    assert f"{points} choice points" in section
    assert "3 personas (none, own, other)" in section
    assert "scored once each" in section
    with_own = set(
        map(tuple, scores.loc[scores.persona == "own", ["experiment", "participant"]].values)
    )
    with_other = set(
        map(tuple, scores.loc[scores.persona == "other", ["experiment", "participant"]].values)
    )
    undonored = _undonored(cfg)
    assert len(with_own - with_other) == undonored
    assert f"different preamble, so no placebo exists): {undonored}." in section
    mean_d = pd.read_csv(out / "tables" / "t1_paper_d.csv")["d"].mean()
    assert f"the paper's mean d over 3 experiments is {mean_d:.3f}" in section
    assert "the paper's band ±0.03" in section


def test_an_experiment_without_own_rows_gets_no_d_and_a_note(
    t1_run: tuple[Config, Path], tmp_path: Path
) -> None:
    """As if one experiment had no profile fields: its scores have no `own` rows."""
    from study.pipeline.stage import load_script

    _, out = t1_run
    (path,) = (out / "manifests").glob("*.json")
    manifest = json.loads(path.read_text())
    scores = _scores(out)
    dropped = sorted(scores["experiment"].unique())[0]
    kept = scores[~((scores.experiment == dropped) & (scores.persona == "own"))]
    (tmp_path / "respond" / "respond").mkdir(parents=True)
    kept.to_parquet(tmp_path / "respond" / "respond" / "scores.parquet")
    manifest["steps"]["respond"] = str(tmp_path / "respond")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / path.name).write_text(json.dumps(manifest))
    blocks = load_script("t1_profile_benefit").make(tmp_path)
    paper = pd.read_csv(tmp_path / "tables" / "t1_paper_d.csv")
    benefit = pd.read_csv(tmp_path / "tables" / "t1_profile_benefit.csv")
    assert dropped not in set(paper["experiment"]) | set(benefit["experiment"])
    assert len(paper) == 2
    text = "\n".join(getattr(b, "text", "") for b in blocks)
    assert f"left out: {dropped} (simulated)" in text
    assert "the paper's mean d over 2 experiments" in text
