"""C6 in the pipeline: the conditions it scores, T6's verdict rule, and one real run on
SmolLM2 (llama.cpp scores, the activations driver in .venv-vllm reads the states) that
writes the contract tables, the figures and the report section."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from study.config import Config
from study.errors import ConfigError
from study.pipeline.persona_space_fit import verdict
from study.pipeline.persona_space_steps import space_config
from tests.pipeline.conftest import SHORT_CHAINS, make_config, pipeline_run


def test_every_role_is_scored_as_an_archetype_after_the_named_conditions() -> None:
    cfg = make_config(["experiment=persona_space"])
    scoring, personas = space_config(cfg)
    roles = [p for p in personas if p.startswith("archetype:role:")]
    assert personas[:3] == ["none", "own", "other"]
    assert len(roles) >= 20 and len(set(personas)) == len(personas)
    assert personas[3 + len(cfg.persona_texts.archetypes)] == "assistant"
    for role in roles:
        assert scoring.persona_texts.archetypes[role.removeprefix("archetype:")]
    assert set(cfg.persona_texts.archetypes) < set(scoring.persona_texts.archetypes)


def test_a_role_named_like_an_archetype_is_refused() -> None:
    cfg = make_config(["experiment=persona_space"])
    texts = {**cfg.persona_texts.archetypes, "role:teacher": "I teach."}
    clashing = replace(cfg, persona_texts=replace(cfg.persona_texts, archetypes=texts))
    with pytest.raises(ConfigError, match="role:teacher"):
        space_config(clashing)


def _axis(cos: list[float], null: float = 0.3, split: float = 0.95) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "layer": range(len(cos)),
            "cos_pc1": cos,
            "null_upper": null,
            "split_half_cos": split,
            "n_persons": 12,
        }
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (_axis([0.8, 0.9, 0.75]), "met"),
        (_axis([0.5, 0.9, 0.75]), "not met"),  # one layer at or below 0.6
        (_axis([0.8, 0.7, 0.75]), "not met"),  # the middle layer at or below 0.71
        (_axis([0.8, 0.9, 0.75], null=0.95), "not met"),  # no closer to PC1 than the null
        (_axis([0.8, 0.9, 0.75], split=0.5), "undecided"),  # not reproducible across persons
    ],
)
def test_t6_verdict_follows_its_thresholds(table: pd.DataFrame, expected: str) -> None:
    outcome, reason = verdict(table, middle=1, min_split_half=0.8)
    assert outcome == expected
    assert "layer 1" in reason


@pytest.fixture(scope="module")
def space_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    overrides = [
        "experiment=persona_space",
        "pipeline.models=[smollm2_135m]",
        "data.limit=2",
        "persona_space.persons=2",
        "pipeline.max_choices=5",
        *SHORT_CHAINS,
    ]
    return pipeline_run(tmp_path_factory, "persona_space", overrides)


@pytest.mark.llm
@pytest.mark.vllm
@pytest.mark.slow
def test_persona_space_writes_the_contract_tables(space_run: tuple[Config, Path]) -> None:
    _, out = space_run
    axis = pd.read_csv(out / "tables" / "c6_axis.csv")
    assert {"model", "layer", "cos_pc1", "null_upper", "split_half_cos", "auroc", "n_persons"} <= (
        set(axis.columns)
    )
    manifest = json.loads(next((out / "manifests").rglob("persona_space-*.json")).read_text())
    layers = json.loads((Path(manifest["steps"]["activations"]) / "layers.json").read_text())
    assert sorted(axis["layer"]) == sorted(layers)
    assert axis["cos_pc1"].between(0, 1).all() and axis["auroc"].between(0, 1).all()
    keys = pd.read_parquet(Path(manifest["steps"]["activations"]) / "keys.parquet")
    persons = keys[["experiment", "participant"]].drop_duplicates()
    # persona_space.persons=2 of each shipped experiment, every one read out.
    assert len(persons) == 2 * keys["experiment"].nunique()
    assert (axis["n_persons"] == len(persons)).all()
    for name in ("c6_drift", "c6_washout"):
        table = pd.read_csv(out / "tables" / f"{name}.csv")
        assert {"model", "condition", "slope", "lower", "upper", "diagnostics"} <= set(
            table.columns
        )
        assert (table["lower"] <= table["slope"]).all() and (table["slope"] <= table["upper"]).all()
    drift = pd.read_csv(out / "tables" / "c6_drift.csv")
    assert {"none", "own", "other", "assistant", "role:pirate"} <= set(drift["condition"])


@pytest.mark.llm
@pytest.mark.vllm
@pytest.mark.slow
def test_states_come_from_the_weights_that_scored(space_run: tuple[Config, Path]) -> None:
    _, out = space_run
    verdicts = pd.read_csv(out / "tables" / "c6_verdicts.csv")
    row = verdicts.iloc[0]
    assert row["verdict"] in {"met", "not met", "undecided"}
    assert row["same_model_points"] == row["n_choice_points"] > 0
    # The cross-engine tolerance measured for the activations engine (tests/activations).
    assert row["same_model_max_abs_nll"] <= 0.5


@pytest.mark.llm
@pytest.mark.vllm
@pytest.mark.slow
def test_the_report_has_the_c6_section_and_its_figures(space_run: tuple[Config, Path]) -> None:
    _, out = space_run
    report = (out / "report.md").read_text()
    assert "C6: persona space" in report
    assert "T6 " in report and "persons" in report
    for name in ("c6_space", "c6_axis", "c6_drift", "c6_washout"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
        assert f"figures/{name}.png" in report
