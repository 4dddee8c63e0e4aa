"""Benchmark: grouped sampling with the llama.cpp engine against one scoring pass.

    .venv/bin/python bench/bench_sampling.py [--model gemma3_270m] [--runs 1 3 10 30]
        [--max-chars 32768] [--max-tokens 16] [--sampling-mode free match]
        [--flash-attn on|off] [--csv bench_sampling.csv]

For R runs of one (person, persona) (the first participant of thoma2025riskychoice and
of dezfouli2019, persona ``none``, run seeds as the respond stage makes them), in one
run with one engine: tokens evaluated and wall time of sampling the R runs as one group
(flash attention on, the default: one scoring pass whose rows serve every run while it
draws the human's tokens, then the runs' branches off the transcript decoded side by
side, study.engines.sample_pass; off: one run's token at a time,
study.engines.sample_tree),
divided by those of one scoring pass of the same prompt (same engine settings). Filler
rows (small batches padded, study.engines.llama_runtime) are counted apart.
Goals (issue 15): at most 1.3 at R = 10 and 2.0 at R = 30. Sampling each run alone
costs R times the R = 1 figure (the ``alone`` column: every run re-evaluates the
transcript). The scoring pass is timed before and after the sampling (``--repeat`` times
each, and every group ``--repeat`` times: medians are reported), as the machine's load
drifts; the 1-minute load average is printed with every row. Besides
wall time, the CPU time of this process (all its threads) is compared: on a machine
shared with other jobs it drifts far less than wall time, and with ``--threads 1
--decode-threads 1`` it counts no thread waiting for another.

``--max-chars`` cuts every transcript as the paper's prompt limit does (0: whole
transcripts). ``--sampling-mode`` measures free generation (``free``) and runs stopped
as soon as they can no longer reproduce the human's response (``match``: the same match
for every run, study.engines.stopping), both by default. Prints a table and writes it as
CSV.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scoring import MODELS, N_CTX, load, requests  # noqa: E402

from study.engines import llamacpp  # noqa: E402
from study.engines.base import SampleRequest, ScoreRequest  # noqa: E402
from study.engines.config import LlamaCppEngineConfig, ModelConfig  # noqa: E402
from study.engines.seeds import run_seed  # noqa: E402

EXPERIMENTS = ("thoma2025riskychoice", "dezfouli2019")
GOALS = {10: 1.3, 30: 2.0}


def timed(call):
    """What ``call()`` returns, its wall seconds and its CPU seconds (this process, all
    threads)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - started, time.process_time() - cpu


def timed_scores(engine: llamacpp.LlamaCppEngine, request: ScoreRequest, repeat: int):
    """Tokens evaluated, and wall and CPU seconds of each of ``repeat`` scoring passes."""
    passes = [timed(lambda: next(engine.score([request]))) for _ in range(repeat)]
    return passes[0][0].tokens_evaluated, [p[1] for p in passes], [p[2] for p in passes]


def group_of(
    engine, experiment: str, participant: str, request: ScoreRequest, runs: int, mode: str, args
):
    return [
        SampleRequest(
            request.prompt,
            request.spans,
            seed=run_seed(engine.sha256, experiment, participant, "none", run, config_seed=0),
            max_tokens=args.max_tokens,
            stop_at_mismatch=mode == "match",
        )
        for run in range(runs)
    ]


def measure(engine, experiment: str, args) -> list[dict[str, object]]:
    participant, request = requests(experiment, 1, args.max_chars or None)[0]
    score_tokens, score_walls, score_cpus = timed_scores(engine, request, args.repeat)
    rows = []
    for mode, runs in itertools.product(args.sampling_mode, args.runs):
        group = group_of(engine, experiment, participant, request, runs, mode, args)
        fillers = engine.runtime.filler_rows
        repeats = [timed(lambda g=group: list(engine.sample(g))) for _ in range(args.repeat)]
        fillers = (engine.runtime.filler_rows - fillers) // args.repeat
        results = repeats[0][0]
        if any(
            [r.responses for r in again] != [r.responses for r in results]
            for again, _, _ in repeats
        ):
            raise AssertionError(f"{experiment} {mode} R={runs}: a rerun sampled other bytes")
        seconds = statistics.median(r[1] for r in repeats)
        cpu_seconds = statistics.median(r[2] for r in repeats)
        rows.append(
            {
                "experiment": experiment,
                "participant": participant,
                "prompt_tokens": results[0].prompt_tokens,
                "choices": len(request.spans),
                "mode": mode,
                "runs": runs,
                "sample_tokens": sum(r.tokens_evaluated for r in results),
                # Filler rows that padded small batches (not in sample_tokens).
                "filler_rows": fillers,
                "sample_s": round(seconds, 3),
                "sample_cpu_s": round(cpu_seconds, 3),
                "load": round(load(), 2),
            }
        )
        print(
            f"  {experiment} {mode} R={runs}: {seconds:.1f} s, CPU {cpu_seconds:.1f} s "
            f"(load {load():.2f})",
            file=sys.stderr,
            flush=True,
        )
    _, walls_after, cpus_after = timed_scores(engine, request, args.repeat)
    score_s = statistics.median(score_walls + walls_after)
    score_cpu_s = statistics.median(score_cpus + cpus_after)
    for row in rows:
        row["score_tokens"] = score_tokens
        row["score_s"] = round(score_s, 3)
        row["score_cpu_s"] = round(score_cpu_s, 3)
        row["token_ratio"] = round(int(row["sample_tokens"]) / score_tokens, 3)  # type: ignore[call-overload]
        row["time_ratio"] = round(float(row["sample_s"]) / score_s, 3)  # type: ignore[arg-type]
        row["cpu_ratio"] = round(float(row["sample_cpu_s"]) / score_cpu_s, 3)  # type: ignore[arg-type]
    for row in rows:
        one = next((r for r in rows if r["runs"] == 1 and r["mode"] == row["mode"]), None)
        row["alone_time_ratio"] = (
            round(float(one["time_ratio"]) * int(row["runs"]), 2) if one else None  # type: ignore[arg-type, call-overload]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="gemma3_270m", choices=sorted(MODELS))
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 3, 10, 30])
    parser.add_argument("--max-chars", type=int, default=32768, help="0: whole transcripts")
    parser.add_argument("--max-tokens", type=int, default=16, help="sampling.max_tokens")
    parser.add_argument(
        "--sampling-mode",
        nargs="+",
        choices=["free", "match"],
        default=["free", "match"],
        help="sampling.mode: free generation, or stopped once the match is decided",
    )
    parser.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS))
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time every group and the scoring pass (before and after) this many times; "
        "medians are reported",
    )
    parser.add_argument("--threads", type=int, help="engine.n_threads (default: all cores)")
    parser.add_argument("--decode-threads", type=int, help="engine.decode_threads")
    parser.add_argument("--flash-attn", choices=["on", "off"], default="on")
    parser.add_argument("--csv", type=Path, default=Path("bench_sampling.csv"))
    args = parser.parse_args()

    model = ModelConfig(name=args.model, gguf=MODELS[args.model])
    settings = LlamaCppEngineConfig(
        n_ctx=N_CTX,
        n_threads=args.threads,
        decode_threads=args.decode_threads,
        flash_attn=args.flash_attn == "on",
    )
    engine = llamacpp.build(settings, model)
    print(
        f"model {model.name} ({engine.sha256[:12]}), n_ctx {engine.runtime.n_ctx}, "
        f"{engine.runtime.n_threads} threads ({engine.runtime.decode_threads} for one-token "
        f"decodes), flash attention {args.flash_attn}, max_tokens {args.max_tokens}",
        file=sys.stderr,
    )
    try:
        rows = [row for experiment in args.experiments for row in measure(engine, experiment, args)]
    finally:
        engine.close()

    columns = list(rows[0])
    print(
        f"\n{'experiment':<22}{'tokens':>8}{'choices':>8}{'mode':>6}{'R':>4}{'tok ratio':>11}"
        f"{'time ratio':>12}{'cpu ratio':>11}{'alone':>8}{'sample s':>10}{'score s':>9}"
        f"{'fillers':>9}{'load':>7}"
    )
    for row in rows:
        print(
            f"{row['experiment']:<22}{row['prompt_tokens']:>8}{row['choices']:>8}{row['mode']:>6}"
            f"{row['runs']:>4}"
            f"{row['token_ratio']:>11.3f}{row['time_ratio']:>12.3f}{row['cpu_ratio']:>11.3f}"
            f"{row['alone_time_ratio']!s:>8}"
            f"{row['sample_s']:>10.1f}{row['score_s']:>9.1f}{row['filler_rows']:>9}"
            f"{row['load']:>7.2f}"
        )
    for runs, goal in GOALS.items():
        for row in (r for r in rows if r["runs"] == runs):
            ratios = [float(row[k]) for k in ("token_ratio", "time_ratio", "cpu_ratio")]  # type: ignore[arg-type]
            verdict = ", ".join(
                f"{what} {value:.2f} {'met' if value <= goal else 'NOT met'}"
                for what, value in zip(("tokens", "wall time", "CPU time"), ratios, strict=True)
            )
            print(f"{row['experiment']} {row['mode']} R={runs} (goal <= {goal}): {verdict}")
    with args.csv.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}", file=sys.stderr)


if __name__ == "__main__":
    main()
