"""Benchmark V1: 1,000,000 Bernoulli rows, and study.variance against bambi per ESS.

Two measurements, in one run (so the machine's load is shared alike):

1. ``full``: 1,000 persons x 10 personas x 10 runs x 10 items = 1,000,000 Bernoulli rows
   (100,000 cells), person, persona, person x persona and item crossed. Goal: a fit that
   passes every diagnostic in <= 60 s (2 cores), compile included. Settings: the fewest
   draws that pass here (2 chains of 150 tuning + 300 draws, target_accept 0.7: 23
   leapfrog steps per draw against 31 at 0.8), one attempt (no automatic retry).
2. ``compare``: bambi (its default PyMC sampler, long format: one Bernoulli row per
   run) on the same design with fewer persons, growing until a fit would pass
   ``--bambi-budget`` seconds; at every size both libraries fit the same rows with the
   same draws (4 chains on 2 cores). Figure of merit: seconds per effective sample of
   the variance components (wall time, our compile included, over the smallest bulk ESS
   of the component SDs). Goal: >= 20x.

    nice -n 10 .venv/bin/python bench/bench_variance.py --out results/bench_variance.json

The printed lines and the JSON hold every figure with the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from study.variance import fit, simulate

SDS = {"person": 1.0, "persona": 0.5, "person:persona": 0.3, "item": 0.7}
FACTORS = ["person", "persona", "person:persona", "item"]


def design(persons: int) -> dict[str, int]:
    return {"person": persons, "persona": 10, "item": 10}


def ours(
    data, draws: int, tune: int, seed: int, chains: int = 4, target_accept: float = 0.8
) -> dict[str, Any]:
    import nutpie

    compile_seconds: list[float] = []
    original = nutpie.compile_pymc_model

    def timed(*args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        compiled = original(*args, **kwargs)
        compile_seconds.append(time.perf_counter() - begin)
        return compiled

    nutpie.compile_pymc_model = timed
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(
            data,
            outcome="y",
            factors=FACTORS,
            family="bernoulli",
            residual="run",
            draws=draws,
            tune=tune,
            chains=chains,
            cores=2,
            seed=seed,
            target_accept=target_accept,
            # One attempt: a failed gate is reported as failed, not resampled.
            retries=0,
            progress=True,
        )
    seconds = time.perf_counter() - start
    nutpie.compile_pymc_model = original
    diagnostics = result.diagnostics.set_index("parameter")
    sd_rows = [f"sigma[{f}]" for f in FACTORS]
    gated = result.diagnostics[result.diagnostics["gated"]]
    return {
        "seconds": seconds,
        "compile_seconds": sum(compile_seconds),
        "attempts": int(result.tree.attrs["attempts"]),
        "passed": result.passed,
        "min_ess_components": float(diagnostics.loc[sd_rows, "ess_bulk"].min()),
        "min_ess_gated": float(gated["ess_bulk"].min()),
        "max_rhat_gated": float(gated["r_hat"].max()),
        "divergences": int(result.diagnostics["divergences"].max()),
        "failed": gated.loc[~gated["passed"], "parameter"].tolist(),
        "notes": result.notes,
        "leapfrog_steps_per_draw": float(result.tree["sample_stats"]["n_steps"].mean()),
        "centring": dict(zip(result.layout.factors, result.layout.centring, strict=True)),
    }


def bambi_fit(data, draws: int, tune: int, seed: int) -> dict[str, Any]:
    import arviz as az
    import bambi as bmb

    start = time.perf_counter()
    model = bmb.Model(
        "y ~ 1 + (1|person) + (1|persona) + (1|person:persona) + (1|item)", data, family="bernoulli"
    )
    trace = model.fit(
        draws=draws, tune=tune, chains=4, cores=2, random_seed=seed, progressbar=False
    )
    seconds = time.perf_counter() - start
    names = [v for v in trace["posterior"].data_vars if str(v).endswith("_sigma")]
    ess = az.ess(trace["posterior"].to_dataset()[names], method="bulk")
    rhat = az.rhat(trace["posterior"].to_dataset()[names])
    divergences = int(np.asarray(trace["sample_stats"]["diverging"].values).sum())
    return {
        "seconds": seconds,
        "min_ess_components": float(min(float(ess[n]) for n in names)),
        "max_rhat_components": float(max(float(rhat[n]) for n in names)),
        "divergences": divergences,
        "components": names,
    }


def per_ess(run: dict[str, Any]) -> float:
    return run["seconds"] / max(run["min_ess_components"], 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("results/bench_variance.json"))
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--bambi-persons", type=int, nargs="+", default=[5, 10, 20, 40])
    parser.add_argument("--bambi-budget", type=float, default=900.0)
    # The full fit's settings: the fewest draws that pass the gate here (measured: 2 chains,
    # target_accept 0.7 takes 23 leapfrog steps per draw against 31 at 0.8).
    parser.add_argument("--full-draws", type=int, default=300)
    parser.add_argument("--full-tune", type=int, default=150)
    parser.add_argument("--full-chains", type=int, default=2)
    parser.add_argument("--full-target-accept", type=float, default=0.7)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "draws": args.draws,
        "tune": args.tune,
        "full_draws": args.full_draws,
        "full_tune": args.full_tune,
        "load_before": os.getloadavg(),
    }

    if not args.skip_full:
        sim = simulate(design(1000), SDS, family="bernoulli", runs=10, intercept=-0.3, seed=1)
        assert len(sim.data) == 1_000_000
        report["full"] = ours(
            sim.data,
            args.full_draws,
            args.full_tune,
            seed=1,
            chains=args.full_chains,
            target_accept=args.full_target_accept,
        )
        report["full"] |= {"chains": args.full_chains, "target_accept": args.full_target_accept}
        report["full"]["rows"] = len(sim.data)
        report["full"]["load_after"] = os.getloadavg()
        print("full", json.dumps(report["full"]), flush=True)
        args.out.write_text(json.dumps(report, indent=2))

    report["compare"] = []
    last_time = 0.0
    for persons in [] if args.skip_compare else args.bambi_persons:
        # bambi's time grows about linearly with rows: stop before a fit would overrun.
        previous = report["compare"][-1]["persons"] if report["compare"] else None
        if previous and last_time * persons / previous > args.bambi_budget:
            break
        sim = simulate(design(persons), SDS, family="bernoulli", runs=10, intercept=-0.3, seed=2)
        entry: dict[str, Any] = {"persons": persons, "rows": len(sim.data)}
        entry["bambi"] = bambi_fit(sim.data, args.draws, args.tune, seed=2)
        entry["ours"] = ours(sim.data, args.draws, args.tune, seed=2)
        entry["speedup_per_ess"] = per_ess(entry["bambi"]) / per_ess(entry["ours"])
        entry["load_after"] = os.getloadavg()
        last_time = entry["bambi"]["seconds"]
        report["compare"].append(entry)
        print("compare", json.dumps(entry), flush=True)
        args.out.write_text(json.dumps(report, indent=2))
        if last_time > args.bambi_budget:
            break


if __name__ == "__main__":
    main()
