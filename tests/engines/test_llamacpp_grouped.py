"""Grouped sampling with the real CPU models: the runs of a (person, persona) share one
evaluation of the transcript, and each run's samples are the bytes it gets alone."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from study.engines.base import SampleRequest
from tests.engines.conftest import participants, truncated

pytestmark = pytest.mark.llm

RUNS = 6


def run_requests(experiment: str, n_choices: int, seeds: range, max_tokens: int = 4):
    person = truncated(participants(experiment, 1)[0], n_choices)
    spans = tuple((c.start, c.end) for c in person.choices)
    return [
        SampleRequest(person.transcript, spans, seed=seed, max_tokens=max_tokens) for seed in seeds
    ]


@pytest.mark.parametrize("model", ["gemma", "smollm", "smollm_no_flash"])
def test_a_run_samples_the_same_bytes_in_a_group_as_alone(model, request) -> None:
    """With flash attention (the default) the runs' tokens are decoded side by side, a run
    alone padded with filler rows; without it, one run's token at a time."""
    engine = request.getfixturevalue(model)
    runs = run_requests("thoma2025riskychoice", 4, range(100, 100 + RUNS))
    grouped = list(engine.sample(runs))
    alone = [next(engine.sample([run])) for run in runs]
    assert [g.responses for g in grouped] == [a.responses for a in alone]
    # Reruns give the same bytes, and the runs do differ from one another.
    assert [g.responses for g in engine.sample(runs)] == [g.responses for g in grouped]
    assert len({g.responses for g in grouped}) > 1
    # A subgroup (what a resumed request computes) gives its runs' bytes too.
    assert [g.responses for g in engine.sample(runs[3:])] == [g.responses for g in grouped[3:]]
    # One evaluation of the transcript, split among the runs; alone, each run pays it.
    prompt_tokens = grouped[0].prompt_tokens
    group_cost = sum(g.tokens_evaluated for g in grouped)
    assert prompt_tokens <= group_cost < prompt_tokens + RUNS * 4 * len(runs[0].spans)
    assert sum(a.tokens_evaluated for a in alone) >= RUNS * prompt_tokens
    assert max(g.tokens_evaluated for g in grouped) - min(g.tokens_evaluated for g in grouped) <= 1


def test_requests_that_differ_in_more_than_the_seed_are_not_grouped(smollm) -> None:
    """A group is made of consecutive requests with the same prompt and settings only:
    interleaved prompts and another max_tokens give each request its own result."""
    thoma = run_requests("thoma2025riskychoice", 3, range(2))
    other = run_requests("dezfouli2019", 3, range(2))
    longer = run_requests("thoma2025riskychoice", 3, range(1), max_tokens=6)
    mixed = [thoma[0], other[0], thoma[1], longer[0], other[1]]
    together = [r.responses for r in smollm.sample(mixed)]
    assert together == [next(smollm.sample([r])).responses for r in mixed]


def test_killed_grouped_sampling_resumes_with_the_missing_runs(
    smollm, tmp_path, compose_config
) -> None:
    """The store keeps one record per run: a run of R = 2 stores runs 0 and 1; asking for
    R = 4 with that store computes only runs 2 and 3 (as a group of two) and writes the
    bytes of an uninterrupted R = 4 run."""
    from study.respond import respond

    people = [truncated(participants("thoma2025riskychoice", 1)[0], 3)]
    base = ["stage=respond", "personas=[none]", "sampling.max_tokens=4"]
    store = tmp_path / "store"

    def run(runs: int, out: str, store_path):
        cfg = compose_config(*base, f"runs={runs}", f"out={tmp_path / out}", f"store={store_path}")
        return respond(cfg, people, engine=smollm, progress=False)

    first = run(2, "partial", store)
    resumed = run(4, "resumed", store)
    fresh = run(4, "fresh", tmp_path / "fresh-store")
    assert (first.computed, resumed.computed, resumed.reused) == (1 + 2, 2, 1 + 2)
    assert fresh.computed == 1 + 4
    for name in ("scores", "samples"):
        assert resumed.paths[name].read_bytes() == fresh.paths[name].read_bytes()


@pytest.mark.parametrize("model", ["smollm", "smollm_no_flash"])
def test_threads_change_the_speed_not_the_samples(model, request) -> None:
    """1 thread instead of 2 gives the same bits: with flash attention off, one-token
    decodes do not depend on it (measured); with it on, no batch has fewer than
    SAMPLE_ROWS rows (a one-token batch would split the cache among the threads). So the
    thread count stays out of the fingerprint (and the store keys)."""
    from study.engines import llamacpp

    engine = request.getfixturevalue(model)
    runs = run_requests("thoma2025riskychoice", 3, range(3))
    settings = replace(engine.settings, n_threads=1, decode_threads=1)
    single = llamacpp.build(settings, engine.model)
    try:
        assert single.runtime.decode_threads == 1 and engine.runtime.decode_threads == 2
        assert [r.responses for r in single.sample(runs)] == [
            r.responses for r in engine.sample(runs)
        ]
        assert single.fingerprint() == engine.fingerprint()
    finally:
        single.close()


def test_a_group_rolls_through_a_small_window_as_its_runs_do_alone(smollm) -> None:
    """A prompt longer than the context window: the group's shared walk rebuilds the
    window where a run alone does, so each run's samples are still its own."""
    from study.engines import llamacpp

    runs = run_requests("thoma2025riskychoice", 6, range(3))
    small = llamacpp.build(replace(smollm.settings, n_ctx=256), smollm.model)
    try:
        grouped = list(small.sample(runs))
        alone = [next(small.sample([run])) for run in runs]
    finally:
        small.close()
    assert grouped[0].prompt_tokens > 256
    assert [g.responses for g in grouped] == [a.responses for a in alone]
    # The rebuilds are evaluated once for the group, once per run alone.
    assert sum(g.tokens_evaluated for g in grouped) < sum(a.tokens_evaluated for a in alone)


@pytest.mark.parametrize("model", ["gemma", "smollm"])
def test_a_branch_does_not_see_the_transcript_after_it(model, request) -> None:
    """A run leaves the transcript at position p in a sequence that shares the
    transcript's cells before p only, while the transcript's later cells stay in the
    cache (study.engines.sample_pass). Its rows get the same bits as after a transcript
    evaluated only up to p, in other batches, and beside other rows (flash attention's
    kernel for 2 to 63 rows skips cells a row does not see). p lies past Gemma's
    512-token sliding window."""
    from study.engines.llama_runtime import SAMPLE_ROWS

    runtime = request.getfixturevalue(model).runtime
    tokens = runtime.tokenize(participants("dezfouli2019", 1)[0].transcript, bos=True)[:720]
    p = 600
    branch = [tokens[p + 3], tokens[p + 7], tokens[p + 1]]

    def digests(plan: list[int], mates: int) -> list[str]:
        runtime.clear()
        start = 0
        for size in plan:
            runtime.decode(tokens[start : start + size], start, [False] * size, min_rows=64)
            start += size
        for seq in range(1, 2 + mates):
            runtime.share_prefix(seq, p)
        rows = []
        for depth, token in enumerate(branch):
            runtime.decode_rows(
                [token, *tokens[9 : 9 + mates]],
                [p + depth] * (1 + mates),
                [[seq] for seq in range(1, 2 + mates)],
                [True] * (1 + mates),
                min_rows=SAMPLE_ROWS,
            )
            rows.append(hashlib.sha256(runtime.logits(0).tobytes()).hexdigest())
        for seq in range(1, 2 + mates):
            runtime.drop_sequence(seq)
        return rows

    alone = digests([300, 300], mates=0)
    assert digests([360, 360], mates=0) == alone
    assert digests([240, 240, 240], mates=12) == alone


def test_runs_branch_in_waves_and_across_batches_as_alone(smollm, monkeypatch) -> None:
    """Many choice points per batch (dezfouli2019), batches of 128 tokens or a little
    more, so that one choice point's rows straddle two batches, waves of 4 runs and
    branch decodes of at most 3 rows (the engine's limits made small): a group of 6
    visits its choice points in other waves and decodes than a run alone, and each run
    still gets its own bytes (each draw comes from the run's stream for that choice
    point)."""
    from study.engines import llamacpp, sample_pass
    from study.engines.llama_runtime import split

    monkeypatch.setattr(sample_pass, "runs_at_once", lambda max_tokens: 4)
    monkeypatch.setattr(sample_pass, "BRANCH_ROWS", 3)
    runs = run_requests("dezfouli2019", 30, range(6), max_tokens=8)
    prompt = smollm.tokenize(runs[0].prompt, runs[0].spans)

    def straddles(n_batch: int) -> bool:
        """A batch ends between a choice point's ``<<`` and its last response token."""
        bounds = [start for start, _ in split(len(prompt.tokens), n_batch)]
        return any(start <= b < end for b in bounds for start, end in prompt.responses)

    n_batch = next(n for n in range(128, 256) if straddles(n))
    small = llamacpp.build(replace(smollm.settings, n_batch=n_batch), smollm.model)
    try:
        grouped = list(small.sample(runs))
        alone = [next(small.sample([run])) for run in runs]
    finally:
        small.close()
    assert [g.responses for g in grouped] == [a.responses for a in alone]
    assert len({g.responses for g in grouped}) > 1
