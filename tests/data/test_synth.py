"""The synthetic generator: same config -> same bytes, loadable like Psych-201, and a
simple fit on what the loader reads recovers the profile effects it was given."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from study.config import Config
from study.data import iter_participants, load_tables, options_for
from study.errors import ConfigError
from study.synth.stage import run

ROOT = Path(__file__).resolve().parents[2]


def synth(out: Path, task: str, n: int, strength: float, seed: int, trials: int) -> Path:
    cfg = Config(stage="synth", out=str(out))
    cfg.synth.task, cfg.synth.participants = task, n
    cfg.synth.strength, cfg.synth.seed, cfg.synth.trials = strength, seed, trials
    run(cfg)
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("task", ["probability_matching", "two_armed_bandit"])
def test_same_config_and_seed_give_the_same_bytes(tmp_path: Path, task: str) -> None:
    first = files(synth(tmp_path / "a", task, 20, 1.0, 3, 24))
    second = files(synth(tmp_path / "b", task, 20, 1.0, 3, 24))
    other_seed = files(synth(tmp_path / "c", task, 20, 1.0, 4, 24))
    assert first == second
    name = f"synth_{task}"
    assert sorted(first) == sorted(
        [
            f"{name}/prompts.jsonl.zip",
            f"{name}/data_card.md",
            f"{name}/data_card.yaml",
            "truth.json",
            "truth.parquet",
        ]
    )
    assert first[f"{name}/prompts.jsonl.zip"] != other_seed[f"{name}/prompts.jsonl.zip"]


def test_command_line_writes_a_loadable_psych201_experiment(tmp_path: Path) -> None:
    out = tmp_path / "syn"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "study", "stage=synth", "synth.task=two_armed_bandit"),
            *("synth.participants=12", "synth.strength=0.5", "synth.seed=1", "synth.trials=36"),
            f"out={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    people = list(iter_participants(out))
    truth = pl.read_parquet(out / "truth.parquet")
    assert [p.participant for p in people] == truth["participant"].to_list()
    for person, row in zip(people, truth.iter_rows(named=True), strict=True):
        assert person.experiment == "synth_two_armed_bandit"
        assert len(person.choices) == 36 and person.rts is not None
        labels = {row["option_0"], row["option_1"]}
        assert {c.response for c in person.choices} <= labels
        assert set(options_for(person) or ()) <= labels  # the card lists no shared options
        assert person.profile["age"] == row["age"]
        assert person.transcript.count("<<") == 36
    assert json.loads((out / "truth.json").read_text())["coefficients"]["age"] == 0.3


def test_unknown_task_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="known: probability_matching, two_armed_bandit"):
        synth(tmp_path / "o", "chess", 5, 1.0, 0, 5)
    assert not (tmp_path / "o").exists()


def coded_profile(participants: pl.DataFrame, coding: dict) -> np.ndarray:
    """The design matrix of truth.json's coding, from the profile the loader read."""
    columns = []
    for spec in coding.values():
        values = participants[spec["field"]]
        if "indicator" in spec:
            columns.append((values == spec["indicator"]).to_numpy().astype(float))
        else:
            columns.append((values.to_numpy() - spec["centre"]) / spec["scale"])
    return sm.add_constant(np.column_stack(columns))


def per_person_successes(out: Path, success: pl.Expr) -> tuple[pl.DataFrame, dict]:
    """Loader tables joined with each person's success count (design facts from truth)."""
    truth = json.loads((out / "truth.json").read_text())
    participants, choices = load_tables(out)
    design = pl.read_parquet(out / "truth.parquet").drop(
        "age", "gender", "diagnosis", "questionnaire_score"
    )
    counts = (
        choices.join(design, on=["experiment", "participant"])
        .group_by("participant")
        .agg(success.sum().alias("k"), pl.len().alias("n"))
    )
    # Complete cases: the file reports a few questionnaire scores as "nan".
    table = participants.join(counts, on="participant").drop_nulls("questionnaire_score")
    return table, truth


@pytest.mark.parametrize("strength", [1.0, 0.0])
def test_probability_matching_recovers_sign_and_size_of_profile_effects(
    tmp_path: Path, strength: float
) -> None:
    out = synth(tmp_path / "pm", "probability_matching", 400, strength, 1, 10)
    table, truth = per_person_successes(out, pl.col("response") == pl.col("majority_option"))
    k, n = table["k"].to_numpy(), table["n"].to_numpy()
    fit = sm.GLM(
        np.column_stack([k, n - k]),
        coded_profile(table, truth["coding"]),
        family=sm.families.Binomial(),
    ).fit(cov_type="HC1")  # sandwich errors: person noise overdisperses the counts
    true = np.array(list(truth["coefficients"].values()))
    # A population-averaged logit slope shrinks by 1/sqrt(1 + 0.346 sd^2) (logistic-normal).
    expected = true / np.sqrt(1 + 0.346 * truth["person_sd"] ** 2)
    estimate, se = fit.params[1:], fit.bse[1:]
    if strength:
        assert np.all(np.sign(estimate) == np.sign(true))
        assert np.all(np.abs(estimate - expected) < 3 * se), (estimate, expected, se)
    else:
        low, high = fit.conf_int(alpha=0.01)[1:].T
        assert np.all((low < 0) & (high > 0)), (low, high)
        assert float(fit.wald_test(np.eye(5)[1:], scalar=True).pvalue) > 0.01


@pytest.mark.parametrize("strength", [1.0, 0.0])
def test_bandit_recovers_the_direction_of_profile_effects(tmp_path: Path, strength: float) -> None:
    out = synth(tmp_path / "bandit", "two_armed_bandit", 200, strength, 1, 240)
    truth = json.loads((out / "truth.json").read_text())
    block = np.repeat(np.arange(truth["design"]["blocks"]), truth["design"]["block_sizes"])
    # The better button at each choice: the letter of its block in better_by_block.
    better = pl.col("better_by_block").str.slice(
        pl.col("index").replace_strict(list(range(block.size)), block.tolist()), 1
    )
    table, truth = per_person_successes(out, pl.col("response") == better)
    accuracy = table["k"].to_numpy() / table["n"].to_numpy()
    fit = sm.OLS(accuracy, coded_profile(table, truth["coding"])).fit(cov_type="HC3")
    true = np.array(list(truth["coefficients"].values()))
    joint = float(fit.wald_test(np.eye(5)[1:], scalar=True).pvalue)
    if strength:
        # Higher inverse temperature -> more choices of the better button.
        assert np.all(np.sign(fit.params[1:]) == np.sign(true)), fit.params
        assert joint < 1e-6
    else:
        low, high = fit.conf_int(alpha=0.01)[1:].T
        assert np.all((low < 0) & (high > 0)), (low, high)
        assert joint > 0.01


def test_persona_types_add_a_truth_column_and_leave_the_choices_alone(tmp_path: Path) -> None:
    from study.fitted.config import library
    from tests.pipeline.conftest import make_config

    def generate(out: Path, types: bool) -> Path:
        overrides = ["stage=synth", "synth.participants=30", f"out={out}"]
        run(make_config([*overrides, f"synth.persona_types={str(types).lower()}"]))
        return out

    plain, typed = generate(tmp_path / "plain", False), generate(tmp_path / "typed", True)
    prompts = "synth_probability_matching/prompts.jsonl.zip"
    assert (plain / prompts).read_bytes() == (typed / prompts).read_bytes()
    truth = pl.read_parquet(typed / "truth.parquet")
    assert "persona_type" not in pl.read_parquet(plain / "truth.parquet").columns
    cfg = make_config([])
    assert set(truth["persona_type"]) <= set(library(cfg.fitted))
    assert truth["persona_type"].n_unique() > 6
    recorded = json.loads((typed / "truth.json").read_text())["persona_types"]
    assert recorded == {d: list(levels) for d, levels in cfg.fitted.dimensions.items()}
    with pytest.raises(ConfigError, match=r"fitted\.dimensions"):
        bare = Config(stage="synth", out=str(tmp_path / "bare"))
        bare.synth.persona_types = True
        run(bare)
    assert not (tmp_path / "bare").exists()
