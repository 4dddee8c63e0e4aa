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

THOMA = Path(__file__).resolve().parents[2] / "data" / "psych201" / "thoma2025riskychoice"


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
    # The shortest shipped transcripts, cut short: 2 persons x 31 conditions.
    overrides = [
        "experiment=persona_space",
        "pipeline.models=[smollm2_135m]",
        f"data.path={THOMA}",
        "data.limit=2",
        "persona_space.persons=2",
        "pipeline.max_choices=4",
        "persona_space.steering=[-4,0,4]",
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
    # persona_space.persons=2, every one read out under every condition.
    assert len(persons) == 2
    assert keys.groupby("condition")["index"].size().nunique() == 1
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


@pytest.mark.llm
@pytest.mark.vllm
@pytest.mark.slow
def test_steering_moves_the_answers_and_zero_is_the_plain_model(
    space_run: tuple[Config, Path],
) -> None:
    _, out = space_run
    dose = pd.read_csv(out / "tables" / "c6_steering.csv").set_index("alpha")
    assert sorted(dose.index) == [-4, 0, 4]
    # alpha 0 is the unsteered model: its distance from itself is 0, and its NLL is the
    # activations step's NLL of the same `none` prompts.
    assert dose.loc[0, "tv"] == 0
    manifest = json.loads(next((out / "manifests").rglob("persona_space-*.json")).read_text())
    keys = pd.read_parquet(Path(manifest["steps"]["activations"]) / "keys.parquet")
    none = keys[keys["condition"] == "none"]
    points = pd.read_csv(
        Path(manifest["steps"]["steering"]) / "steering.csv", dtype={"participant": str}
    )
    plain = points[points["alpha"] == 0].merge(none, on=["participant", "index"])
    assert len(plain) == len(none) > 0
    assert (plain["nll_x"] - plain["nll_y"]).abs().max() < 1e-9
    # Four standard deviations along the axis move the option distribution (on these
    # transcripts by less than a hundredth: the measured effect is small, not absent).
    assert dose.loc[-4, "tv"] > 1e-4 and dose.loc[4, "tv"] > 1e-4
    assert dose["p_response"].between(0, 1).all()


def test_steering_distance_is_total_variation_from_the_unsteered_point() -> None:
    from study.pipeline.persona_space_steering import with_distance

    point = {"experiment": "e", "participant": "1", "session": 0, "index": 0}
    points = pd.DataFrame(
        [
            {**point, "alpha": 0.0, "distribution": "[0.5, 0.5]"},
            {**point, "alpha": 2.0, "distribution": "[0.8, 0.2]"},
            {**point, "index": 1, "alpha": 2.0, "distribution": "[1.0, 0.0]"},  # no reference
        ]
    )
    tv = with_distance(points)["tv"].tolist()
    assert tv[0] == 0 and tv[1] == pytest.approx(0.3)
    assert pd.isna(tv[2])


def test_steering_dose_weighs_persons_equally() -> None:
    from study.pipeline.persona_space_steering import dose_response

    rows = [("a", 0, 1.0)] + [("b", i, 3.0) for i in range(3)]
    points = pd.DataFrame(
        [
            {"alpha": 0.0, "experiment": "e", "participant": p, "index": i, "nll": nll}
            for p, i, nll in rows
        ]
    )
    dose = dose_response(points, "m").iloc[0]
    assert dose["nll"] == pytest.approx(2.0)  # (1 + 3) / 2, not (1 + 3 + 3 + 3) / 4
    assert dose["n_persons"] == 2 and dose["n_points"] == 4
    assert dose["nll_se"] == pytest.approx(1.0)  # sd of (1, 3) over sqrt(2)


@pytest.mark.llm
def test_a_model_without_a_chat_template_is_skipped_with_the_reason() -> None:
    from study.pipeline.analyses import models_of
    from study.pipeline.persona_space_steps import without_assistant

    cfg = make_config(["experiment=persona_space"])
    by_name = {m.name: m for m in models_of(cfg)}
    assert without_assistant(cfg, cfg.engine, by_name["smollm2_135m"]) is None
    reason = without_assistant(cfg, cfg.engine, by_name["gemma3_270m"])
    assert reason is not None and "no chat template" in reason
