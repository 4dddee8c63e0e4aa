"""Grouped sampling on vLLM's CPU build (issue 15): the runs of one (person, persona),
sent by engine=vllm (in-process) and engine=vllm_server, share the computation of their
prompt through vLLM's prefix cache, each run keeping its own seeds.

Both engines sample the calls of the ``group_plan`` fixture (conftest.py): four runs of
one prompt with six choice points, first together on a prompt vLLM has not seen, then
alone, as a subgroup behind another prompt's run, and together again. What vLLM itself
reported for every request (the prompt tokens it served from its prefix cache:
``RequestOutput.num_cached_tokens`` in-process, ``usage.prompt_tokens_details`` from the
server, which the managed engine starts with ``--enable-prompt-tokens-details``) is
recorded beside the results, and the tests check:

- a run's samples are the same bytes alone, in its group, in a subgroup, in a rerun, and
  computed alone after emptying the cache; the runs differ;
- every choice point of every run goes to vLLM as its own ``n=1`` request with its own
  seed, ``choice_seed(run seed, choice)``;
- the prefix is computed once: the first group call computes one prompt's tokens plus,
  for every request, its last unfilled block (vLLM caches whole blocks of
  ``block_size`` tokens; the tokens after the last whole block before a ``<<`` are
  computed by every run), and a rerun computes only those blocks;
- the engines' ``tokens_evaluated`` is that real cost: prompt tokens not served from the
  cache, plus the sampled tokens.

Run with ``-s`` to see the measured figures.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from study.engines.vllm import choice_seed

pytestmark = pytest.mark.vllm


@dataclass(frozen=True)
class Sent:
    """One request as vLLM reported it."""

    seed: int
    n: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Call:
    responses: list[tuple[str, ...]]
    tokens_evaluated: list[int]
    prompt_tokens: list[int]
    sent: list[Sent]
    wall_s: float | None = None


@pytest.fixture(scope="module")
def server_calls(served, group_plan) -> dict[str, Call]:
    """The plan's calls through the managed server, with each response's usage."""
    sent: list[Sent] = []
    lock = threading.Lock()
    complete = served._complete

    def recording(payload):
        answer = complete(payload)
        usage = answer.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        with lock:  # the client sends engine.client.concurrency requests at once
            sent.append(
                Sent(
                    seed=payload["seed"],
                    n=payload["n"],
                    prompt_tokens=usage["prompt_tokens"],
                    cached_tokens=details.get("cached_tokens") or 0,
                    completion_tokens=usage["completion_tokens"],
                )
            )
        return answer

    served._complete = recording
    calls = {}
    try:
        for call in group_plan.calls:
            if call.reset_cache:
                reset = served.client.post(served.root + "/reset_prefix_cache", {})
                assert reset == {"success": True}, reset
            start = len(sent)
            started = time.monotonic()
            results = list(served.sample(call.requests))
            calls[call.name] = Call(
                responses=[r.responses for r in results],
                tokens_evaluated=[r.tokens_evaluated for r in results],
                prompt_tokens=[r.prompt_tokens for r in results],
                sent=sent[start:],
                wall_s=time.monotonic() - started,
            )
    finally:
        del served._complete
    return calls


@pytest.fixture(scope="module")
def inprocess_calls(inprocess, group_plan) -> dict[str, Call]:
    """The plan's calls through the in-process engine (run by the driver)."""
    recorded = inprocess[2]["calls"]
    calls = {}
    for call, record in zip(group_plan.calls, recorded, strict=True):
        results = record["results"]
        calls[call.name] = Call(
            responses=[tuple(r["responses"]) for r in results],
            tokens_evaluated=[r["tokens_evaluated"] for r in results],
            prompt_tokens=[r["prompt_tokens"] for r in results],
            sent=[Sent(**s) for s in record["sent"]],
        )
    return calls


@pytest.fixture(params=["vllm_server", "vllm"])
def calls(request) -> dict[str, Call]:
    fixture = "server_calls" if request.param == "vllm_server" else "inprocess_calls"
    return request.getfixturevalue(fixture)


def by_run(call: Call, runs) -> dict[int, list[Sent]]:
    """The requests of ``call`` by run index, in choice order, found by their seeds."""
    owner = {
        choice_seed(run.seed, k): (r, k)
        for r, run in enumerate(runs)
        for k in range(len(run.spans))
    }
    out: dict[int, dict[int, Sent]] = {}
    for sent in call.sent:
        r, k = owner[sent.seed]
        out.setdefault(r, {})[k] = sent
    return {r: [mine[k] for k in sorted(mine)] for r, mine in out.items()}


def test_a_runs_samples_are_the_same_bytes_alone_in_a_group_and_in_a_subgroup(calls, group_plan):
    group = calls["group"].responses
    assert len(group) == len(group_plan.runs)
    assert all(len(r) == group_plan.choices for r in group)
    for r in range(len(group)):
        assert calls[f"alone {r}"].responses == [group[r]], f"run {r} alone"
    # A subgroup of two runs, in another order, behind another prompt's run.
    assert calls["subgroup"].responses[1:] == [group[2], group[1]]
    assert calls["rerun"].responses == group
    # The first run computed alone from an empty prefix cache.
    assert calls["alone, cold cache"].responses == [group[0]]
    # Each run draws its own samples: no two runs alike.
    assert len(set(group)) == len(group), group


def test_both_engines_sample_the_same_bytes(server_calls, inprocess_calls):
    assert inprocess_calls["group"].responses == server_calls["group"].responses


def test_every_choice_point_of_every_run_has_its_own_seed(calls, group_plan):
    for name in ("group", "subgroup", "rerun"):
        sent = calls[name].sent
        assert all(s.n == 1 for s in sent), "one completion per request, never n > 1"
        assert len({s.seed for s in sent}) == len(sent), f"{name}: two requests share a seed"
    runs, choices = group_plan.runs, group_plan.choices
    expected = {choice_seed(run.seed, k) for run in runs for k in range(choices)}
    assert {s.seed for s in calls["group"].sent} == expected
    assert len(expected) == len(runs) * choices


def test_the_group_computes_its_prefix_once(calls, group_plan, request):
    call = calls["group"]
    runs = by_run(call, group_plan.runs)
    R, K = len(group_plan.runs), group_plan.choices
    assert sorted(runs) == list(range(R))
    prompt_tokens = call.prompt_tokens[0]
    sent = [sum(s.prompt_tokens for s in runs[r]) for r in range(R)]
    computed = [sum(s.prompt_tokens - s.cached_tokens for s in runs[r]) for r in range(R)]
    sampled = [sum(s.completion_tokens for s in runs[r]) for r in range(R)]
    rerun = by_run(calls["rerun"], group_plan.runs)
    recomputed = [sum(s.prompt_tokens - s.cached_tokens for s in rerun[r]) for r in range(R)]
    wall = f", group call {call.wall_s:.1f} s" if call.wall_s is not None else ""
    print(
        f"\n[{request.node.callspec.id}] prompt {prompt_tokens} tokens, {K} choice points, "
        f"{R} runs, blocks of {group_plan.block_size}: prompt tokens sent per run {sent}, "
        f"computed {computed} (group: {sum(computed)} = {sum(computed) / prompt_tokens:.2f} "
        f"prompts, {1 - sum(computed) / sum(sent):.3f} of the sent tokens from the cache), "
        f"sampled {sampled}; rerun computed {recomputed}{wall}"
    )
    # The engines record the real cost: prompt tokens not served from the cache, plus
    # the sampled tokens.
    assert call.tokens_evaluated == [c + s for c, s in zip(computed, sampled, strict=True)]
    # vLLM caches whole blocks: a request's last, unfilled block before its ``<<`` (up to
    # block_size tokens) cannot be shared and is computed by every run that sends it.
    tail = group_plan.block_size
    # The prompt is computed once: the group computes one prompt plus the unfilled
    # blocks, however its requests interleave (the server takes several at once, so
    # which run computes a block first varies).
    assert sum(computed) <= prompt_tokens + R * K * tail, (computed, prompt_tokens)
    # A rerun finds everything but the unfilled blocks in the cache.
    assert all(c <= K * tail for c in recomputed), recomputed
