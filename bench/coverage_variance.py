"""Coverage and recovery study of V1: do 94% intervals cover the truth 94% of the time?

For each number of persons in ``--persons`` (the group-count axis of the recovery grid),
simulates ``--datasets`` data sets of a crossed design (persons x 5 personas x 4 items x
runs), cycling over a grid of true SDs, fits each with the library's defaults, and
records for every component whether its 94% interval covers the true variance (latent
scale) and the true data-scale share, and the estimate's error. Writes one row per data
set and component to ``--out`` (CSV; a killed study resumes) and prints coverage and
median absolute error per group count and component.

    nice -n 10 .venv/bin/python bench/coverage_variance.py --family bernoulli \
        --datasets 200 --out results/coverage_bernoulli.csv

Reusing one compiled model (same design, new data) keeps each fit to a few seconds.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from study.variance import fit, simulate

DESIGN = {"persona": 5, "item": 4}
FACTORS = ["person", "persona", "person:persona", "item"]
# A grid of true SDs (latent scale): each setting is used for every fourth data set.
GRID = [
    {"person": 1.0, "persona": 0.5, "person:persona": 0.5, "item": 0.7},
    {"person": 0.5, "persona": 1.0, "person:persona": 0.3, "item": 0.4},
    {"person": 1.5, "persona": 0.3, "person:persona": 0.8, "item": 1.0},
    {"person": 0.8, "persona": 0.8, "person:persona": 0.6, "item": 0.3},
]


def one_dataset(family: str, persons: int, index: int, runs: int, seed: int) -> pd.DataFrame:
    setting = index % len(GRID)
    sds = GRID[setting]
    sim = simulate(
        {"person": persons, **DESIGN},
        sds,
        family=family,
        runs=runs,
        intercept=-0.2,
        residual_sd=1.0,
        residual="run",
        seed=seed + index,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(
            sim.data,
            outcome="y",
            factors=FACTORS,
            family=family,
            residual="run",
            seed=seed + index,
            reml=False,
        )
    table = result.components.set_index("component")
    truth = sim.truth.set_index("component")
    rows = []
    for component in truth.index:
        row = {
            "persons": persons,
            "dataset": index,
            "setting": setting,
            "family": family,
            "component": component,
            "passed": result.passed,
        }
        for scale in ("variance", "data_share"):
            true = float(truth.loc[component, scale])
            low, high = table.loc[component, [f"{scale}_lower", f"{scale}_upper"]]
            row |= {
                f"true_{scale}": true,
                f"{scale}_estimate": table.loc[component, scale],
                f"{scale}_covered": bool(low <= true <= high) if np.isfinite(true) else None,
            }
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Coverage and median absolute error per group count and component, all data sets
    and those whose fit passed the gate, plus a pooled row per group count."""
    stochastic = results[results["component"].isin(FACTORS)].copy()
    stochastic["abs_error"] = (stochastic["variance_estimate"] - stochastic["true_variance"]).abs()
    stochastic["data_share_covered"] = stochastic["data_share_covered"].astype(float)
    stochastic["variance_covered"] = stochastic["variance_covered"].astype(float)
    rows = []
    for (persons, component), part in [
        *stochastic.groupby(["persons", "component"]),
        *(
            (key, part)
            for key, part in stochastic.assign(component="(all)").groupby(["persons", "component"])
        ),
    ]:
        passed = part[part["passed"]]
        rows.append(
            {
                "persons": persons,
                "component": component,
                "datasets": part["dataset"].nunique(),
                "variance_coverage": part["variance_covered"].mean(),
                "data_share_coverage": part["data_share_covered"].mean(),
                "variance_coverage_passed": passed["variance_covered"].mean(),
                "median_abs_error": part["abs_error"].median(),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", choices=["bernoulli", "gaussian"], default="bernoulli")
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--persons", type=int, nargs="+", default=[20])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("results/coverage_variance.csv"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame()
    finished = set(zip(done["persons"], done["dataset"], strict=True)) if len(done) else set()
    start = time.perf_counter()
    parts = [done] if len(done) else []
    todo = [(p, i) for p in args.persons for i in range(args.datasets) if (p, i) not in finished]
    for persons, index in tqdm(todo, desc=f"coverage {args.family}", unit="data set"):
        parts.append(one_dataset(args.family, persons, index, args.runs, args.seed))
        # Written after every data set: a killed study resumes where it stopped.
        pd.concat(parts).to_csv(args.out, index=False)
    results = pd.concat(parts)
    gate = results.groupby(["persons", "dataset"])["passed"].first()
    print(
        f"{args.family}: {len(gate)} data sets, {int((~gate).sum())} failed the gate, "
        f"{time.perf_counter() - start:.0f} s this run"
    )
    print(summarise(results).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
