"""Benchmark V1: 1,000,000 Bernoulli rows, and study.variance against bambi per ESS.

Two measurements, in one run (so the machine's load is shared alike):

1. ``full``: 1,000 persons x 10 personas x 10 runs x 10 items = 1,000,000 Bernoulli rows
   (100,000 cells), person, persona, person x persona and item crossed. Goal: a fit that
   passes every diagnostic in <= 60 s (2 cores), compile included, with a plain
   ``fit()``: no sampler arguments, the library's defaults (``--full-*`` override them),
   one attempt (no automatic retry). Reported apart: compile and sampling seconds, the
   draws per chain it stopped at.
2. ``compare``: bambi (its default PyMC sampler, long format: one Bernoulli row per
   run) on the same design with fewer persons, growing until a fit would pass
   ``--bambi-budget`` seconds; at every size both libraries fit the same rows with the
   same draws (4 chains on 2 cores), and ours once more with its defaults. Figure of
   merit: seconds per effective sample of the variance components (wall time, our
   compile included, over the smallest bulk ESS of the component SDs). Goal: >= 20x.

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


def ours(data, seed: int, **sampler: Any) -> dict[str, Any]:
    """Fit with the library; ``sampler`` holds only the settings given (the rest are the
    library's defaults). Times nutpie's compile and the sampling (tuning included) apart."""
    import nutpie

    from study.variance import attempts

    compile_seconds: list[float] = []
    sample_seconds: list[float] = []
    originals = nutpie.compile_pymc_model, attempts.sample

    def timed(into: list[float], call: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            out = call(*args, **kwargs)
            into.append(time.perf_counter() - begin)
            return out

        return wrapper

    nutpie.compile_pymc_model = timed(compile_seconds, originals[0])
    attempts.sample = timed(sample_seconds, originals[1])  # type: ignore[assignment]
    start, cpu = time.perf_counter(), time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit(
                data,
                outcome="y",
                factors=FACTORS,
                family="bernoulli",
                residual="run",
                seed=seed,
                # One attempt: a failed gate is reported as failed, not resampled.
                retries=0,
                progress=True,
                **sampler,
            )
    finally:
        nutpie.compile_pymc_model, attempts.sample = originals
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    diagnostics = result.diagnostics.set_index("parameter")
    sd_rows = [f"sigma[{f}]" for f in FACTORS]
    gated = result.diagnostics[result.diagnostics["gated"]]
    posterior = result.tree["posterior"]
    return {
        "settings": sampler or "library defaults",
        "seconds": seconds,
        "cpu_seconds": cpu,
        "compile_seconds": sum(compile_seconds),
        # Sampling (tuning, draws, block checks), compile excluded.
        "sample_seconds": sum(sample_seconds) - sum(compile_seconds),
        "chains": int(posterior.sizes["chain"]),
        "draws_per_chain": int(posterior.sizes["draw"]),
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
    # The full fit: a plain fit() with the library's defaults unless these say otherwise
    # (the landed tuned run was --full-draws 300 --full-tune 150 --full-chains 2
    # --full-target-accept 0.7).
    parser.add_argument("--full-draws", type=int)
    parser.add_argument("--full-tune", type=int)
    parser.add_argument("--full-chains", type=int)
    parser.add_argument("--full-target-accept", type=float)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "draws": args.draws,
        "tune": args.tune,
        "load_before": os.getloadavg(),
    }

    if not args.skip_full:
        sim = simulate(design(1000), SDS, family="bernoulli", runs=10, intercept=-0.3, seed=1)
        assert len(sim.data) == 1_000_000
        given = {
            "draws": args.full_draws,
            "tune": args.full_tune,
            "chains": args.full_chains,
            "target_accept": args.full_target_accept,
        }
        report["full"] = ours(sim.data, seed=1, **{k: v for k, v in given.items() if v is not None})
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
        # Like for like: bambi's draws, 4 chains on 2 cores.
        same = {"draws": args.draws, "tune": args.tune, "chains": 4, "cores": 2}
        entry["ours"] = ours(sim.data, seed=2, **same)
        entry["speedup_per_ess"] = per_ess(entry["bambi"]) / per_ess(entry["ours"])
        # And a plain fit() with the library's defaults (it stops once the gate is met).
        entry["ours_defaults"] = ours(sim.data, seed=2)
        entry["speedup_per_ess_defaults"] = per_ess(entry["bambi"]) / per_ess(
            entry["ours_defaults"]
        )
        entry["load_after"] = os.getloadavg()
        last_time = entry["bambi"]["seconds"]
        report["compare"].append(entry)
        print("compare", json.dumps(entry), flush=True)
        args.out.write_text(json.dumps(report, indent=2))
        if last_time > args.bambi_budget:
            break


if __name__ == "__main__":
    main()
