"""The PersonaAgent loop for real on the CPU: SmolLM2 (llama.cpp) writes and refines
descriptions of two thoma2025riskychoice participants. Its texts' quality is what it
is; what is checked is the mechanics: non-empty texts, the same bytes again, a resume
from the store without one engine call, and a config seed that changes the texts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from study.engines.base import Engine
from study.engines.registry import build_engine
from study.fitted.generated import GeneratedOutcome, generate_personas
from study.fitted.heldout import first_k
from study.pipeline.inputs import load_people
from study.store import ResponseStore
from tests.pipeline.conftest import make_config

pytestmark = pytest.mark.llm

DATA = Path(__file__).resolve().parents[2] / "data" / "psych201"
CONFIG = make_config(
    [
        "experiment=fitted_personas",
        "engine=llamacpp",
        "engine.n_threads=1",  # one thread: steady on a shared 2-core machine
        "model=smollm2_135m",
        "fitted.generated.rounds=1",
        "fitted.generated.batch=2",
        "fitted.generated.max_tokens=16",
        "fitted.generated.excerpt_chars=800",
    ]
)
# Two persons, their first 4 choices (2 fit, 2 held out).
PEOPLE = load_people(DATA / "thoma2025riskychoice", 2, 4)


class Counting:
    """The llama.cpp engine, counting the requests it was asked to compute."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.calls = engine, 0

    def fingerprint(self):
        return self.engine.fingerprint()

    def count_tokens(self, text: str) -> int:
        return self.engine.count_tokens(text)

    def chat_prompt(self, user: str) -> str | None:
        return self.engine.chat_prompt(user)

    def score(self, requests):
        self.calls += len(requests)
        return self.engine.score(requests)

    def sample(self, requests):
        self.calls += len(requests)
        return self.engine.sample(requests)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def smollm() -> Iterator[Engine]:
    engine = build_engine(CONFIG.engine, CONFIG.model)
    yield engine
    engine.close()


def generate(
    engine: Engine, store: Path, *, seed: int = 0, rounds: int = 1
) -> tuple[GeneratedOutcome, int]:
    """The loop for PEOPLE (``rounds`` refinements), and how many requests the engine
    computed."""
    fitted = replace(CONFIG.fitted, generated=replace(CONFIG.fitted.generated, rounds=rounds))
    counted = Counting(engine)
    with ResponseStore(store) as opened:
        outcome = generate_personas(
            counted,
            opened,
            PEOPLE,
            first_k(PEOPLE, fitted.split),
            fitted,
            CONFIG.preamble,
            seed=seed,
        )
    return outcome, counted.calls


@pytest.fixture(scope="module")
def first(smollm, tmp_path_factory) -> tuple[GeneratedOutcome, int, Path]:
    store = tmp_path_factory.mktemp("store")
    outcome, calls = generate(smollm, store)
    return outcome, calls, store


def test_smollm2_writes_and_refines_a_description_per_person(first) -> None:
    outcome, calls, _ = first
    rows = outcome.rows
    assert rows.height == 2 * 2  # two persons, the write and one refinement
    assert all(isinstance(t, str) and t.strip() for t in rows["text"])
    assert rows.filter(pl.col("kept")).height == 2
    assert rows["nll_first_k"].is_not_null().all()
    # Two generations and up to two scorings per person, and the placebo's scorings.
    assert 0 < calls <= 2 * 4 + 2
    own = outcome.scores.filter(pl.col("persona") == "generated_own")
    assert own.height == sum(len(p.choices) for p in PEOPLE)


def test_a_rerun_writes_the_same_bytes_into_a_fresh_store(smollm, first, tmp_path) -> None:
    outcome, _, _ = first
    # Round 0 alone (the same requests as the first run's round 0), to keep it short.
    again, calls = generate(smollm, tmp_path, rounds=0)
    assert calls > 0
    before = outcome.rows.filter(pl.col("round") == 0).drop("kept")
    assert again.rows.drop("kept").equals(before)


def test_a_resume_from_the_store_makes_no_engine_call(smollm, first) -> None:
    outcome, _, store = first
    resumed, calls = generate(smollm, store)
    assert calls == 0
    assert resumed.rows.equals(outcome.rows) and resumed.scores.equals(outcome.scores)


def test_another_config_seed_writes_other_texts(smollm, first, tmp_path) -> None:
    outcome, _, _ = first
    reseeded, _ = generate(smollm, tmp_path, seed=1, rounds=0)
    before = outcome.rows.filter(pl.col("round") == 0)["text"].to_list()
    assert reseeded.rows["text"].to_list() != before
