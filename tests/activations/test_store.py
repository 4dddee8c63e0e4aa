"""The activation store: reuse without the driver, identical bytes on recomputation,
and resumption after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from study.activations import (
    ActivationsConfig,
    ActivationsEngine,
    ActivationStore,
    activation_key,
    activations,
)

from .conftest import MODELS, REPO, thoma_requests

pytestmark = pytest.mark.vllm

WORKER = Path(__file__).resolve().with_name("resume_worker.py")


def stored_files(store: Path, suffix: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(store.rglob(f"*{suffix}"))}


def test_a_second_call_is_served_by_the_store_without_the_driver(smollm2_engine, tmp_path):
    requests = thoma_requests(2, layers=(0, 15, 29), choices=3)
    store = ActivationStore(tmp_path / "activations")
    first = list(activations(smollm2_engine, store, requests))
    assert smollm2_engine.calls >= 2
    # A new engine: the fingerprint alone finds the results; no driver is started.
    with ActivationsEngine(ActivationsConfig(), MODELS["smollm2_135m"]) as fresh_engine:
        second = list(activations(fresh_engine, store, requests))
        assert fresh_engine.calls == 0 and fresh_engine.driver_pid is None
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.states, b.states)
        assert (a.nll, a.layers, a.positions) == (b.nll, b.layers, b.positions)
    # Other layers are another request.
    keys = {activation_key(smollm2_engine.fingerprint(), r) for r in requests}
    other = thoma_requests(1, layers=(1,))[0]
    assert activation_key(smollm2_engine.fingerprint(), other) not in keys


def test_recomputing_writes_the_same_bytes(smollm2_engine, tmp_path):
    requests = thoma_requests(2, layers=(5, 20), choices=3)
    list(activations(smollm2_engine, ActivationStore(tmp_path / "a"), requests))
    before = smollm2_engine.calls
    list(activations(smollm2_engine, ActivationStore(tmp_path / "b"), requests, fresh=True))
    assert smollm2_engine.calls == before + 2
    assert stored_files(tmp_path / "a", ".npy") == stored_files(tmp_path / "b", ".npy")
    assert len(stored_files(tmp_path / "a", ".npy")) == 2


def test_a_run_killed_with_sigkill_resumes_with_only_the_missing_requests(tmp_path):
    store = tmp_path / "activations"
    total = 6
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), str(store), str(total)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own group: the kill takes the driver with it
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "stored", "the worker stored nothing"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    time.sleep(0.5)  # let the killed driver's files settle
    kept = len(stored_files(store, ".json"))
    assert 1 <= kept < total, "the kill came too late to test resumption"
    with ActivationsEngine(ActivationsConfig(), MODELS["smollm2_135m"]) as engine:
        requests = thoma_requests(total, layers=(0, 29), choices=3)
        results = list(activations(engine, ActivationStore(store), requests))
        assert engine.calls == total - kept
    assert len(results) == total
    assert len(stored_files(store, ".json")) == len(stored_files(store, ".npy")) == total
    assert all(r.states.shape[:2] == (3, 2) for r in results)
