"""``sampling.mode=match`` with the real CPU models: runs stop as soon as they can no
longer reproduce the human's response, and every run matches exactly when it does in
free generation."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from study.engines.base import SampleRequest
from tests.engines.conftest import participants, truncated

pytestmark = pytest.mark.llm

RUNS = 8


def thoma_runs(n_choices: int = 6) -> list[SampleRequest]:
    """The first participant of thoma2025riskychoice: at the first choice point the base
    models seldom answer with an option, so free runs generate up to max_tokens there."""
    person = truncated(participants("thoma2025riskychoice", 1)[0], n_choices)
    spans = tuple((c.start, c.end) for c in person.choices)
    return [
        SampleRequest(person.transcript, spans, seed=seed, max_tokens=8)
        for seed in range(300, 300 + RUNS)
    ]


def is_cut_from(cut: str, whole: str) -> bool:
    """``cut`` is where ``whole`` was stopped (a multi-byte character cut in two decodes
    to a replacement character at the end)."""
    return whole.startswith(cut) or (cut.endswith("\ufffd") and whole.startswith(cut[:-1]))


@pytest.mark.parametrize("model", ["gemma", "smollm", "smollm_no_flash"])
def test_match_mode_decides_every_run_as_free_generation_does(model, request) -> None:
    engine = request.getfixturevalue(model)
    free_runs = thoma_runs()
    match_runs = [replace(run, stop_at_mismatch=True) for run in free_runs]
    human = [free_runs[0].prompt[start:end] for start, end in free_runs[0].spans]
    free = list(engine.sample(free_runs))
    match = list(engine.sample(match_runs))
    cut = 0
    for whole, stopped in zip(free, match, strict=True):
        for response, generated, decided in zip(
            human, whole.responses, stopped.responses, strict=True
        ):
            assert (generated == response) == (decided == response)
            if generated != response:
                assert is_cut_from(decided, generated), (decided, generated)
                cut += decided != generated
    # Some runs missed and were cut short, and the group evaluated fewer tokens.
    assert cut > 0
    assert sum(r.tokens_evaluated for r in match) < sum(r.tokens_evaluated for r in free)
    # A run alone stops where it stops in its group.
    assert [next(engine.sample([run])).responses for run in match_runs[:3]] == [
        r.responses for r in match[:3]
    ]


def test_match_mode_in_the_respond_stage(smollm, tmp_path, compose_config) -> None:
    """The stage asks the engine for runs that stop at a mismatch, records the mode, and
    its match column is free generation's."""
    from study.respond import respond

    people = [truncated(p, 5) for p in participants("thoma2025riskychoice", 2)]
    base = [
        "stage=respond",
        "personas=[none,own]",
        "runs=4",
        "sampling.max_tokens=8",
        f"store={tmp_path / 'store'}",
    ]
    free, match = (
        respond(
            compose_config(*base, f"sampling.mode={mode}", f"out={tmp_path / mode}"),
            people,
            engine=smollm,
        )
        for mode in ("free", "match")
    )
    assert set(free.samples["sampling_mode"]) == {"free"}
    assert set(match.samples["sampling_mode"]) == {"match"}
    keys = ["participant", "persona", "run", "choice"]
    joined = free.samples.join(match.samples, on=keys, suffix="_match")
    assert joined.height == free.samples.height == 2 * 2 * 4 * 5
    assert (joined["match"] == joined["match_match"]).all()
    assert joined.filter(pl.col("sampled") != pl.col("sampled_match")).height > 0
    # In one store the second mode reuses the score requests, not the free runs.
    assert (free.computed, match.computed, match.reused) == (2 * 2 * (1 + 4), 2 * 2 * 4, 2 * 2)
