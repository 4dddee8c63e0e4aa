"""Benchmark: loader throughput (MB/s) and peak memory on a large synthetic corpus.

    .venv/bin/python bench/bench_loader.py [--participants 200000] [--work /tmp/bench_loader]

Generates a Psych-201-style corpus with the synthetic generator (probability matching,
shaped like thoma2025riskychoice) and a denser one shaped like dezfouli2019 (a response
every ~45 characters), then measures, each in a fresh process:

- baseline: unzip the member and ``json.loads`` every line, nothing else: the floor any
  jsonl loader pays;
- records: ``study.data.reader.iter_records``, line by line (what
  ``iter_participants`` streams: validation, markers, typing, one object per line);
- loader: batched reading into ``participants.parquet`` and ``choices.parquet`` (what
  ``stage=data`` and ``load_tables`` do before summarising);
- stage: the whole ``stage=data``: the loader, then summaries, data cards and figure.

Throughput is inflated jsonl bytes per wall-clock second (CPU seconds are printed too:
the machine may be shared, see the load average printed at the end); peak memory is the
process's maximum resident set size. Goal: >= 50 MB/s and peak RSS <= 1 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

GOAL_MB_S = 50.0
GOAL_RSS_MB = 1024.0


def generate(folder: Path, task_name: str, participants: int, trials: int | None) -> Path:
    """A synthetic experiment at ``folder/<name>/prompts.jsonl.zip`` (reused if present)."""
    from study.synth.profiles import draw_profiles
    from study.synth.stage import participant_ids, records
    from study.synth.tasks import TASKS
    from study.synth.writer import write_prompts_zip

    name = f"bench_{task_name}_{participants}"
    path = folder / name / "prompts.jsonl.zip"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    task = TASKS[task_name]
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    profiles = draw_profiles(rng, participants)
    simulated = task.simulate(rng, profiles.linear_predictor(1.0), trials or task.default_trials)
    write_prompts_zip(
        records(name, participant_ids(task_name, participants), profiles, simulated),
        path,
        expected_bytes=sum(len(t) for t in simulated.transcripts),
    )
    print(f"generated {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def measure(mode: str, corpus: Path, out: Path) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; it reports its own time and peak RSS."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(corpus), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec, whereas
    ru_maxrss also remembers the parent that forked us."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, corpus: Path, out: Path) -> None:
    """The measured work; prints one JSON line with seconds and peak RSS."""
    # Imports first: the figures are about reading, not about starting Python.
    import matplotlib.pyplot  # noqa: F401  (the stage draws a figure)
    import polars as pl

    from study.config import Config
    from study.data.batches import iter_batches
    from study.data.reader import Quirks, ReadOptions, iter_records
    from study.data.stage import run
    from study.data.tables import write_tables

    with zipfile.ZipFile(corpus) as archive:
        inflated = sum(i.file_size for i in archive.infolist())
    started = time.perf_counter()
    cpu_started = time.process_time()
    if mode == "baseline":
        with zipfile.ZipFile(corpus) as archive, archive.open("prompts.jsonl") as member:
            people = sum(1 for line in member if json.loads(line))
    elif mode == "records":
        people = sum(1 for _ in iter_records(corpus))
    elif mode == "loader":
        out.mkdir(parents=True)
        people = write_tables(
            iter_batches(corpus, options=ReadOptions(quirks=Quirks())),
            out / "participants.parquet",
            out / "choices.parquet",
        )
    else:
        cfg = Config(stage="data", out=str(out))
        cfg.data.path = str(corpus)
        run(cfg)
        people = pl.scan_parquet(out / "participants.parquet").select(pl.len()).collect().item()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak_mb = peak_rss_mb()
    print(
        json.dumps(
            {
                "participants": people,
                "inflated_mb": inflated / 1e6,
                "seconds": seconds,
                "mb_per_s": inflated / 1e6 / seconds,
                "cpu_seconds": cpu_seconds,
                "peak_rss_mb": peak_mb,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=200_000)
    parser.add_argument("--dense-participants", type=int, default=2_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_loader"))
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CORPUS", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    corpora = {
        "thoma-shaped": generate(args.work, "probability_matching", args.participants, None),
        "dezfouli-shaped": generate(args.work, "two_armed_bandit", args.dense_participants, None),
    }
    results = {}
    for label, corpus in corpora.items():
        for mode in ("baseline", "records", "loader", "stage"):
            out = args.work / f"out_{label}_{mode}"
            subprocess.run(["rm", "-rf", str(out)], check=True)
            figures = measure(mode, corpus, out)
            results[f"{label}/{mode}"] = figures
            print(
                f"{label:16s} {mode:9s} {figures['participants']:>8,d} people "
                f"{figures['inflated_mb']:8.1f} MB {figures['seconds']:7.1f} s "
                f"{figures['mb_per_s']:6.1f} MB/s (cpu {figures['cpu_seconds']:6.1f} s)  "
                f"peak RSS {figures['peak_rss_mb']:6.0f} MB"
            )
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"load average while measuring (1, 5, 15 min): {' '.join(load)}")
    results["load_average"] = load  # type: ignore[assignment]
    (args.work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for mode in ("loader", "stage"):
        runs = [v for k, v in results.items() if k.endswith(f"/{mode}")]
        ok = all(v["mb_per_s"] >= GOAL_MB_S and v["peak_rss_mb"] <= GOAL_RSS_MB for v in runs)
        print(
            f"goal for {mode} (>= {GOAL_MB_S:.0f} MB/s wall clock, peak RSS <= "
            f"{GOAL_RSS_MB:.0f} MB): {'met' if ok else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
