"""The response store: exact round trips, no duplicates, replace on demand, shards."""

from __future__ import annotations

import math
import multiprocessing
import os
from multiprocessing.synchronize import Event
from pathlib import Path

from study.engines.base import SampleResult, ScoreResult
from study.store import ResponseStore


def test_results_round_trip_bit_for_bit(tmp_path: Path) -> None:
    score = ScoreResult(
        nll=(math.pi, 1e-300, 0.1 + 0.2),
        n_tokens=(1, 2, 3),
        option_probs=({"Q": 1 / 3, "O": 2 / 3}, {"Q": 0.5, "O": 0.5}, {"O": 1.0}),
        tokens_evaluated=30,
        prompt_tokens=29,
        dropped_tokens=(0, 0, 7),
    )
    with ResponseStore(tmp_path / "responses") as store:
        store.put("k", "score", score, {"engine": "x"})
    with ResponseStore(tmp_path / "responses") as reopened:
        back = reopened.get_many(["k"])["k"]
    assert back == score
    assert isinstance(back, ScoreResult)
    # Option order is kept (it is the order of the option set).
    assert list(back.option_probs[0]) == ["Q", "O"]


def test_a_key_is_stored_once_unless_replaced(tmp_path: Path) -> None:
    first = SampleResult(("A",), 5, 4)
    second = SampleResult(("B",), 5, 4)
    with ResponseStore(tmp_path / "responses") as store:
        store.put("k", "sample", first, {})
        store.put("k", "sample", second, {})
        assert len(store) == 1
        assert store.get_many(["k"])["k"] == first
        store.put("k", "sample", second, {}, replace=True)
        assert len(store) == 1
        assert store.get_many(["k"])["k"] == second


def test_lookups_of_many_keys(tmp_path: Path) -> None:
    keys = [f"key{i}" for i in range(1234)]
    with ResponseStore(tmp_path / "responses") as store:
        for key in keys[::2]:
            store.put(key, "sample", SampleResult((key,), 1, 1), {})
        assert store.contains(keys) == set(keys[::2])
        found = store.get_many(keys)
    assert set(found) == set(keys[::2])
    assert all(found[k].responses == (k,) for k in found)


def _write(folder: str, keys: list[str], start: Event) -> None:
    start.wait()
    with ResponseStore(folder) as store:
        for key in keys:
            store.put(key, "sample", SampleResult((key,), 1, 1), {"writer": os.getpid()})


def test_concurrent_writers_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    # Two jobs on one out=, overlapping in a third of their requests, writing at once.
    folder = str(tmp_path / "responses")
    first = [f"k{i}" for i in range(0, 600)]
    second = [f"k{i}" for i in range(400, 1000)]
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    jobs = [context.Process(target=_write, args=(folder, keys, start)) for keys in (first, second)]
    for job in jobs:
        job.start()
    start.set()
    for job in jobs:
        job.join(timeout=120)
        assert job.exitcode == 0
    shards = sorted((tmp_path / "responses").glob("*.jsonl"))
    assert len(shards) == 2, "each job writes its own shard"
    assert [p.read_bytes().count(b"\n") for p in shards] == [600, 600]
    with ResponseStore(folder) as reader:
        everything = [f"k{i}" for i in range(1000)]
        found = reader.get_many(everything)
        assert len(reader) == 1000
    assert set(found) == set(everything)
    assert all(result.responses == (key,) for key, result in found.items())


def test_an_open_store_sees_what_another_job_writes_later(tmp_path: Path) -> None:
    with ResponseStore(tmp_path, job="a") as mine, ResponseStore(tmp_path, job="b") as theirs:
        mine.put("k1", "sample", SampleResult(("A",), 1, 1), {})
        assert theirs.contains(["k1", "k2"]) == {"k1"}
        mine.put("k2", "sample", SampleResult(("B",), 1, 1), {})
        assert theirs.contains(["k1", "k2"]) == {"k1", "k2"}
        # theirs knows k2 now, so it keeps mine; fresh=true (replace) overrides it for all.
        theirs.put("k2", "sample", SampleResult(("C",), 1, 1), {})
        assert mine.get_many(["k2"])["k2"].responses == ("B",)
        theirs.put("k2", "sample", SampleResult(("D",), 1, 1), {}, replace=True)
        assert mine.get_many(["k2"])["k2"].responses == ("D",)
        assert len(mine) == 2


def test_a_record_cut_short_by_a_kill_is_ignored(tmp_path: Path) -> None:
    with ResponseStore(tmp_path, job="killed") as store:
        store.put("k1", "sample", SampleResult(("A",), 1, 1), {})
        store.put("k2", "sample", SampleResult(("B",), 1, 1), {})
    shard = tmp_path / "killed.jsonl"
    whole = shard.read_bytes()
    shard.write_bytes(whole[: len(whole) - 10])  # the second line loses its end
    with ResponseStore(tmp_path) as resumed:
        assert resumed.contains(["k1", "k2"]) == {"k1"}
        resumed.put("k2", "sample", SampleResult(("B",), 1, 1), {})
    with ResponseStore(tmp_path) as reader:
        assert reader.get_many(["k1", "k2"]) == {
            "k1": SampleResult(("A",), 1, 1),
            "k2": SampleResult(("B",), 1, 1),
        }


def test_reading_an_empty_or_missing_store(tmp_path: Path) -> None:
    with ResponseStore(tmp_path / "none") as store:
        assert store.contains(["k"]) == set() and len(store) == 0
    assert not (tmp_path / "none").exists(), "reading creates nothing"
