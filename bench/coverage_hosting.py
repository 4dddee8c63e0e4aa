"""Coverage of C4's estimators: do the 94% intervals of leakage and CT/SS cover the truth?

For each of ``--datasets`` simulated data sets, the simulated engine answers every C4
prompt of the shipped experiments (the quick slice: ``--persons`` per experiment, the
first ``--choices`` choices) under a new draw of its effects (its seed is the data
set's index) and a truth from a small grid of (leakage, cross-talk); the estimators run
exactly as the pipeline runs them. Writes one row per data set, statistic and
experiment to ``--out`` (CSV; a killed study resumes), prints the coverage and median
absolute error per statistic and experiment (and pooled), and draws every pooled
interval against its truth (``--figure``).

    nice -n 10 .venv/bin/python bench/coverage_hosting.py --datasets 50 \
        --out results/coverage_hosting.csv --figure results/coverage_hosting.png
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from study.config import Config
from study.data.loader import SHIPPED_DATA
from study.engines.config import SimulatedEngineConfig
from study.engines.simulated import SimulatedEngine
from study.hosting.crosstalk import crosstalk_ratio
from study.hosting.estimates import PROB
from study.hosting.leakage import fit_leakage
from study.hosting.observations import crosstalk_rows, leakage_rows
from study.hosting.respond import respond_hosting
from study.pipeline.hosting_steps import hosted_prompts_of, options_lookup
from study.pipeline.inputs import load_people

# (leakage, cross-talk) truths, cycled over the data sets.
GRID = [(0.3, 0.2), (0.1, 0.05), (0.5, 0.4)]
POOLED = "(pooled)"


def one_dataset(cfg: Config, people: list, prompts: list, index: int, args) -> list[dict]:
    leakage, crosstalk = GRID[index % len(GRID)]
    engine = SimulatedEngine(
        SimulatedEngineConfig(seed=index, hosting_leakage=leakage, hosting_crosstalk=crosstalk)
    )
    with tempfile.TemporaryDirectory() as store:
        scores = respond_hosting(
            engine,
            prompts,
            options_lookup(people),
            cfg.hosting,
            store=Path(store),
            runs=0,
            sampling=cfg.sampling,
            seed=cfg.seed,
            progress=False,
        ).scores
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fit_leakage(
            leakage_rows(scores).select("experiment", "person", "span", "x", "y"),
            prob=PROB,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=index,
        )
    seconds = time.perf_counter() - started
    ratio = crosstalk_ratio(
        crosstalk_rows(scores).select("experiment", "person", "ct", "ss"),
        prob=PROB,
    )
    rows = []
    for statistic, table, truth, passed in (
        ("leakage", fitted.table, leakage, fitted.passed),
        ("crosstalk_ratio", ratio.table, crosstalk, True),
    ):
        # Each experiment's row too: the pooled lambda of two or three experiments has a
        # wide interval (the spread between experiments is barely identified), the
        # experiments' own are the sharp ones.
        for row in table.to_dict("records"):
            if not (pd.notna(row["lower"]) and pd.notna(row["upper"])):
                continue
            rows.append(
                {
                    "dataset": index,
                    "statistic": statistic,
                    "experiment": row["experiment"],
                    "truth": truth,
                    "estimate": float(row["estimate"]),
                    "lower": float(row["lower"]),
                    "upper": float(row["upper"]),
                    "covered": bool(row["lower"] <= truth <= row["upper"]),
                    "passed": bool(passed),
                    "fit_seconds": round(seconds, 2) if statistic == "leakage" else 0.0,
                }
            )
    return rows


def composed(overrides: list[str]) -> Config:
    """The shipped config (the paper's preamble, conf/hosting), as the command line
    composes it."""
    from hydra import compose, initialize_config_dir

    from study.cli import CONF_DIR, to_typed

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return to_typed(compose(config_name="config", overrides=overrides))


def summary(results: pd.DataFrame) -> pd.DataFrame:
    results = results.assign(error=(results["estimate"] - results["truth"]).abs())
    return results.groupby(["statistic", "experiment"]).agg(
        datasets=("dataset", "nunique"),
        coverage=("covered", "mean"),
        median_abs_error=("error", "median"),
        gate_passed=("passed", "mean"),
        median_fit_seconds=("fit_seconds", "median"),
    )


def figure(results: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = results[results["experiment"] == POOLED]
    statistics = list(results["statistic"].unique())
    fig, axes = plt.subplots(1, len(statistics), figsize=(5 * len(statistics), 4.5))
    for ax, statistic in zip(axes, statistics, strict=True):
        rows = results[results["statistic"] == statistic].sort_values(["truth", "estimate"])
        y = range(len(rows))
        colours = ["C0" if c else "C3" for c in rows["covered"]]
        ax.hlines(y, rows["lower"], rows["upper"], colors=colours, lw=1.2)
        ax.scatter(rows["estimate"], y, s=8, c=colours)
        ax.scatter(rows["truth"], y, marker="|", s=40, c="k", label="truth")
        covered = rows["covered"].mean()
        ax.set_title(
            f"{statistic}, pooled: {covered:.0%} of {len(rows)} intervals cover", fontsize=10
        )
        ax.set_xlabel("pooled estimate, 94% interval (red: misses the truth)")
        ax.set_yticks([])
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=50)
    parser.add_argument("--persons", type=int, default=3)
    parser.add_argument("--limit", type=int, default=6)
    parser.add_argument("--choices", type=int, default=20)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/coverage_hosting.csv"))
    parser.add_argument("--figure", type=Path, default=Path("results/coverage_hosting.png"))
    args = parser.parse_args()

    cfg = composed([f"hosting.targets={args.persons}"])
    people = load_people(SHIPPED_DATA, args.limit, args.choices)
    prompts = hosted_prompts_of(cfg, people)
    done = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame()
    finished = set(done["dataset"]) if len(done) else set()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for index in range(args.datasets):
        if index in finished:
            continue
        rows = pd.DataFrame(one_dataset(cfg, people, prompts, index, args))
        done = pd.concat([done, rows], ignore_index=True)
        done.to_csv(args.out, index=False)
        elapsed = time.perf_counter() - started
        print(f"data set {index + 1}/{args.datasets} ({elapsed:.0f} s)", flush=True)
    print(summary(done).to_string())
    figure(done, args.figure)
    print(f"wrote {args.out} and {args.figure}")


if __name__ == "__main__":
    main()
