"""The response store: exact round trips, no duplicates, replace on demand."""

from __future__ import annotations

import math
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
    with ResponseStore(tmp_path / "s.sqlite") as store:
        store.put("k", "score", score, {"engine": "x"})
    with ResponseStore(tmp_path / "s.sqlite") as reopened:
        back = reopened.get_many(["k"])["k"]
    assert back == score
    assert isinstance(back, ScoreResult)
    # Option order is kept (it is the order of the option set).
    assert list(back.option_probs[0]) == ["Q", "O"]


def test_a_key_is_stored_once_unless_replaced(tmp_path: Path) -> None:
    first = SampleResult(("A",), 5, 4)
    second = SampleResult(("B",), 5, 4)
    with ResponseStore(tmp_path / "s.sqlite") as store:
        store.put("k", "sample", first, {})
        store.put("k", "sample", second, {})
        assert len(store) == 1
        assert store.get_many(["k"])["k"] == first
        store.put("k", "sample", second, {}, replace=True)
        assert len(store) == 1
        assert store.get_many(["k"])["k"] == second


def test_lookups_beyond_sqlite_parameter_limits(tmp_path: Path) -> None:
    keys = [f"key{i}" for i in range(1234)]
    with ResponseStore(tmp_path / "s.sqlite") as store:
        for key in keys[::2]:
            store.put(key, "sample", SampleResult((key,), 1, 1), {})
        assert store.contains(keys) == set(keys[::2])
        found = store.get_many(keys)
    assert set(found) == set(keys[::2])
    assert all(found[k].responses == (k,) for k in found)
