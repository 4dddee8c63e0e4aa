"""A person is (experiment, participant) in every model that pools experiments: two
experiments whose participant ids collide (both 1, 2, 3) must give six persons, not
three, in V1's person and person x persona factors (STUDY.md, "Participant")."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from study.config import Config
from study.pipeline.stage import run
from study.variance import load_tree
from tests.pipeline.conftest import make_config

EXPERIMENTS = ("alpha", "beta")
IDS = ("1", "2", "3")
PERSONAS = ("none", "own")


def write_colliding_experiments(folder: Path) -> Path:
    for e, experiment in enumerate(EXPERIMENTS):
        path = folder / experiment / "prompts.jsonl"
        path.parent.mkdir(parents=True)
        lines = []
        for who in IDS:
            picks = "".join(
                f"Trial {t}: you press <<{'AB'[(t + int(who) + e) % 2]}>>.\n" for t in range(4)
            )
            record = {"text": picks, "experiment": experiment, "participant": who, "age": 20 + e}
            lines.append(json.dumps(record) + "\n")
        path.write_text("".join(lines))
    return folder


@pytest.fixture(scope="module")
def colliding_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    data = write_colliding_experiments(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("collide")
    cfg = make_config(
        [
            "stage=pipeline",
            "pipeline.analyses=[run_vs_persona]",
            "engine=simulated",
            "model=simulated",
            f"data.path={data}",
            "runs=2",
            f"pipeline.sample_personas=[{','.join(PERSONAS)}]",
            # The test checks the design V1 was given, not its estimates: short chains.
            "pipeline.draws=100",
            "pipeline.tune=100",
            "pipeline.chains=2",
            f"out={out}",
        ]
    )
    run(cfg)
    return cfg, out


def test_v1_counts_a_person_per_experiment_and_id(colliding_run: tuple[Config, Path]) -> None:
    _, out = colliding_run
    (v1,) = out.glob("stages/v1-simulated-*")
    (respond,) = out.glob("stages/respond-simulated-*")
    samples = pl.read_parquet(respond / "respond" / "samples.parquet")
    # The ids collide: three bare ids, six persons.
    assert samples["participant"].n_unique() == len(IDS)
    assert samples.select("experiment", "participant").unique().height == 6
    posterior = load_tree(v1 / "posterior.nc")["posterior"]
    persons = sorted(map(str, posterior["person"].values))
    assert persons == [f"{e}/{p}" for e in EXPERIMENTS for p in IDS]
    assert posterior["person:persona"].size == 6 * len(PERSONAS)
    components = pl.read_csv(v1 / "components.csv")["component"].to_list()
    assert "person" in components and "participant" not in components
