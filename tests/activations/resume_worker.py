"""Compute activations into a store, for test_store.py to kill with SIGKILL mid-run::

python tests/activations/resume_worker.py STORE N_PARTICIPANTS
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from study.activations import (
    ActivationsConfig,
    ActivationsEngine,
    ActivationStore,
    activations,
)
from tests.activations.conftest import MODELS, thoma_requests

if __name__ == "__main__":
    store = ActivationStore(sys.argv[1])
    with ActivationsEngine(ActivationsConfig(), MODELS["smollm2_135m"]) as engine:
        requests = thoma_requests(int(sys.argv[2]), layers=(0, 29), choices=3)
        for _ in activations(engine, store, requests):
            print("stored", flush=True)
