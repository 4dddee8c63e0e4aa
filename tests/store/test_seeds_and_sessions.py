"""Run seeds follow the config seed (STUDY.md, "Run"), and sessions travel through the
respond stage: their own rows, their own seeds, and the hash of each rendered prompt."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from study.respond import respond

ROOT = Path(__file__).resolve().parents[2]
THOMA = ROOT / "data" / "psych201" / "thoma2025riskychoice"
OUTPUTS = ("scores.parquet", "samples.parquet")


def run_respond(compose_config, out: Path, data: Path, *extra: str):
    cfg = compose_config("stage=respond", f"data.path={data}", f"out={out}", *extra)
    return respond(cfg, progress=False)


def test_the_config_seed_draws_new_replicates_and_same_seed_same_bytes(
    tmp_path: Path, compose_config
) -> None:
    args = (THOMA, "data.limit=6", "personas=[none,own]", "runs=3")
    first = run_respond(compose_config, tmp_path / "seed0", *args, "seed=0")
    again = run_respond(compose_config, tmp_path / "seed0_again", *args, "seed=0")
    other = run_respond(compose_config, tmp_path / "seed1", *args, "seed=1")
    for name in OUTPUTS:
        assert (tmp_path / "seed0" / name).read_bytes() == (
            tmp_path / "seed0_again" / name
        ).read_bytes(), name
    assert again.computed == first.computed > 0

    keys = ["participant", "persona", "run", "choice"]
    zero = first.samples.sort(keys)
    one = other.samples.sort(keys)
    assert zero.select(keys).equals(one.select(keys))
    # Every run has a new seed, and the replicates drawn differ.
    runs = zero.select("participant", "persona", "run", "seed").unique()
    runs_one = one.select("participant", "persona", "run", "seed").unique()
    assert runs.height == runs_one.height == 6 * 2 * 3
    assert set(runs["seed"]).isdisjoint(set(runs_one["seed"]))
    differ = (zero["sampled"] != one["sampled"]).mean()
    assert isinstance(differ, float) and differ > 0.05
    # Scores do not depend on the seed: the same requests, the same numbers.
    assert first.scores.drop("request_key").equals(other.scores.drop("request_key"))


# Two persons with two sessions each (interleaved), and one with a single session.
SESSIONS = {
    ("p1", 0): "Day 1. You pick <<A>>, then <<B>>.",
    ("p2", 0): "Day 1. You pick <<B>>, then <<B>>.",
    ("p1", 1): "Day 2. You pick <<A>>, then <<A>>, then <<B>>.",
    ("p2", 1): "Day 2. You pick <<A>>.",
    ("p3", 0): "Day 1. You pick <<B>>.",
}


def sessions_experiment(folder: Path) -> Path:
    path = folder / "days" / "prompts.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(
        "".join(
            json.dumps({"text": text, "experiment": "days", "participant": who, "age": 40}) + "\n"
            for (who, _), text in SESSIONS.items()
        )
    )
    return path.parent


def test_sessions_are_scored_and_sampled_apart_with_their_prompt_hash(
    tmp_path: Path, compose_config
) -> None:
    data = sessions_experiment(tmp_path / "in")
    outcome = run_respond(compose_config, tmp_path / "out", data, "personas=[none,own]", "runs=2")
    scores = pl.read_parquet(tmp_path / "out" / "scores.parquet")
    samples = pl.read_parquet(tmp_path / "out" / "samples.parquet")
    assert scores.equals(outcome.scores)
    transcripts = scores.select("participant", "session").unique().sort(pl.all())
    assert transcripts.rows() == [("p1", 0), ("p1", 1), ("p2", 0), ("p2", 1), ("p3", 0)]
    # Choice rows per transcript and persona: as many as the session's responses.
    counts = scores.group_by("participant", "session", "persona").len()
    assert dict(
        counts.filter(persona="none").select(pl.concat_str("participant", "session"), "len").rows()
    ) == {"p10": 2, "p11": 3, "p20": 2, "p21": 1, "p30": 1}
    # Under `none` the prompt is the transcript itself: its hash is the text's.
    none = scores.filter(persona="none").unique(["participant", "session"])
    for row in none.iter_rows(named=True):
        text = SESSIONS[(row["participant"], row["session"])]
        expected = hashlib.sha256(text.encode()).hexdigest()
        assert row["prompt_text_sha256"] == expected
    # `own` adds the preamble: another text, another hash; one hash per prompt.
    per_prompt = scores.group_by("participant", "session", "persona").agg(
        pl.col("prompt_text_sha256").n_unique()
    )
    assert (per_prompt["prompt_text_sha256"] == 1).all()
    assert scores["prompt_text_sha256"].n_unique() == 5 * 2
    # Samples carry the session and the prompt hash too, and every session its own seeds.
    assert samples.select("participant", "session").unique().height == 5
    seeds = samples.select("participant", "session", "persona", "run", "seed").unique()
    assert seeds.height == 5 * 2 * 2 == seeds["seed"].n_unique()
    assert set(samples["prompt_text_sha256"]) == set(scores["prompt_text_sha256"])
