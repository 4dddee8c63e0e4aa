"""``sampling.mode=options``: runs drawn from the score pass's option probabilities, with
the real respond stage and the simulated engine."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from study.errors import ConfigError
from study.respond import respond

ROOT = Path(__file__).resolve().parents[2]
THOMA = ROOT / "data" / "psych201" / "thoma2025riskychoice"
RUNS = 400


def run_respond(compose_config, out: Path, data: Path, *extra: str):
    cfg = compose_config("stage=respond", f"data.path={data}", f"out={out}", *extra)
    return respond(cfg, progress=False)


def test_option_draws_follow_the_score_pass_probabilities(tmp_path: Path, compose_config) -> None:
    args = (THOMA, "data.limit=2", "personas=[none]", f"runs={RUNS}", "sampling.mode=options")
    outcome = run_respond(compose_config, tmp_path / "a", *args)
    # No sample request reaches the engine: one score request per (person, persona).
    assert outcome.computed == 2
    samples = outcome.samples
    assert set(samples["sampling_mode"]) == {"options"}
    keys = ["participant", "choice"]
    frequency = samples.group_by([*keys, "sampled"]).agg((pl.len() / RUNS).alias("share"))
    checked = 0
    for row in outcome.scores.iter_rows(named=True):
        drawn = frequency.filter(participant=row["participant"], choice=row["choice"])
        shares = dict(zip(drawn["sampled"], drawn["share"], strict=True))
        assert set(shares) <= {o["option"] for o in row["option_probs"]}
        for option in row["option_probs"]:
            p = option["prob"]
            tolerance = 4.5 * math.sqrt(p * (1 - p) / RUNS) + 1 / RUNS
            assert abs(shares.get(option["option"], 0.0) - p) <= tolerance, (row, option)
            checked += 1
    assert checked >= 20


def test_option_draws_are_seeded(tmp_path: Path, compose_config) -> None:
    args = (THOMA, "data.limit=2", "personas=[none,own]", "runs=5", "sampling.mode=options")
    first = run_respond(compose_config, tmp_path / "a", *args)
    run_respond(compose_config, tmp_path / "b", *args)
    other = run_respond(compose_config, tmp_path / "c", *args, "seed=1")
    for name in ("scores.parquet", "samples.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    differ = (first.samples["sampled"] != other.samples["sampled"]).mean()
    assert isinstance(differ, float) and differ > 0.05
    free = run_respond(compose_config, tmp_path / "free", THOMA, "data.limit=1", "runs=1")
    assert set(free.samples["sampling_mode"]) == {"free"}


def one_experiment(folder: Path, name: str, transcripts: list[str]) -> Path:
    path = folder / name / "prompts.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(
        "".join(
            json.dumps({"text": text, "experiment": name, "participant": f"p{i}"}) + "\n"
            for i, text in enumerate(transcripts)
        )
    )
    return path.parent


def test_options_of_several_tokens_are_refused_naming_experiment_and_option(
    tmp_path: Path, compose_config
) -> None:
    # The simulated engine counts whitespace-separated words as tokens.
    data = one_experiment(tmp_path, "arms", ["You lift the <<left arm>>, then <<right>>."])
    with pytest.raises(ConfigError, match=r"experiment arms, option 'left arm' takes 2 tokens"):
        run_respond(compose_config, tmp_path / "out", data, "runs=2", "sampling.mode=options")
    # Scoring alone (no runs) needs no option set.
    assert run_respond(compose_config, tmp_path / "o", data, "runs=0", "sampling.mode=options")


def test_free_answers_have_no_options_to_draw_from(tmp_path: Path, compose_config) -> None:
    answers = " ".join(f"<<w{i}>>" for i in range(40))
    data = one_experiment(tmp_path, "words", [f"Name a word: {answers}"])
    with pytest.raises(ConfigError, match="experiment words has no option set"):
        run_respond(compose_config, tmp_path / "out", data, "runs=1", "sampling.mode=options")
    with pytest.raises(ConfigError, match=r"sampling\.mode must be one of"):
        run_respond(compose_config, tmp_path / "x", data, "runs=1", "sampling.mode=greedy")
