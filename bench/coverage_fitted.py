"""Coverage of C5's person-specific benefit: does the fitted persona's 94% interval
cover the true benefit, and does it beat its placebo exactly when the fit gain is
positive?

For each of ``--datasets`` data sets and each truth of a small grid, a synthetic
experiment (probability matching, ``--persons`` persons of ``--trials`` choices, a latent
persona type each: ``synth.persona_types``) is scored by the simulated engine with the
fit truth (``engine.fit_gain``, ``engine.fit_noise``; other persona effects none or
generic, ``engine.sd_persona``) and run
through the whole ``experiment=fitted_personas`` pipeline; the data set's index seeds
both the generator and the engine. The truths are exact: 0 when the gain is 0 (the
selection picks up per-choice noise and generic quality only), and with a gain but no fit noise the
quadrature of study.engines.simulated_fit.expected_person_specific_benefit. Writes one
row per data set, truth and row of V2's table (the experiment's and the pooled) to
``--out`` (a killed study resumes), prints coverage, error and the share of intervals
above 0 per truth, and draws the experiment's intervals against their truths.

    nice -n 10 .venv/bin/python bench/coverage_fitted.py --datasets 20 \
        --out results/coverage_fitted.csv --figure results/coverage_fitted.png
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from study.engines.simulated import SimulatedEngine
from study.engines.simulated_fit import expected_person_specific_benefit
from study.fitted.heldout import first_k
from study.pipeline.inputs import load_people
from study.pipeline.stage import run
from study.synth import stage as synth_stage
from study.variance.individuation import POOLED

EXPERIMENT = "synth_probability_matching"
# (fit_gain, fit_noise, sd_persona): the truths, each run on every data set. The last
# gives candidates a generic quality (some fit everyone better): the placebo must still
# find no person-specific benefit.
TRUTHS = [(0.0, 0.5, 0.0), (0.5, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.5, 0.3)]


def composed(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from study.cli import CONF_DIR, to_typed

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return to_typed(compose(config_name="config", overrides=overrides))


def true_benefit(cfg, data: Path, gain: float) -> float:
    """The exact truth of the module doc for this data set's held-out choices."""
    if gain == 0.0:
        return 0.0
    people = load_people(data, cfg.data.limit, cfg.pipeline.max_choices)
    split = first_k(people, cfg.fitted.split)
    held_out = {(len(p.choices), split[p.person]) for p in people}
    if len(held_out) != 1:
        raise SystemExit("the exact truth needs equal numbers of choices per person")
    n, k = held_out.pop()
    engine = SimulatedEngine(cfg.engine)
    items = [engine.effects(EXPERIMENT, "1", "none", i).item for i in range(k, n)]
    dimensions = {d: list(levels) for d, levels in cfg.fitted.dimensions.items()}
    return expected_person_specific_benefit(
        gain, cfg.engine.mu, cfg.engine.sd_person, items, dimensions
    )


def one_dataset(index: int, truth: tuple[float, float, float], args) -> list[dict]:
    gain, noise, sd_persona = truth
    with tempfile.TemporaryDirectory() as scratch:
        synth = Path(scratch, "synth")
        synth_stage.run(
            composed(
                [
                    "stage=synth",
                    "synth.persona_types=true",
                    f"synth.participants={args.persons}",
                    f"synth.trials={args.trials}",
                    f"synth.seed={index}",
                    f"out={synth}",
                ]
            )
        )
        cfg = composed(
            [
                "experiment=fitted_personas",
                "engine=simulated",
                f"engine.seed={index}",
                f"engine.sd_persona={sd_persona}",
                "engine.sd_person_persona=0",
                f"engine.fit_gain={gain}",
                f"engine.fit_noise={noise}",
                f"engine.fit_types={synth / 'truth.parquet'}",
                f"data.path={synth / EXPERIMENT}",
                f"data.limit={args.persons}",
                f"pipeline.max_choices={args.trials}",
                f"pipeline.draws={args.draws}",
                f"pipeline.tune={args.tune}",
                f"pipeline.chains={args.chains}",
                f"out={Path(scratch, 'run')}",
            ]
        )
        benefit = true_benefit(cfg, synth / EXPERIMENT, gain)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(cfg)
        benefits = pd.read_csv(Path(scratch, "run", "tables", "c5_benefits.csv"))
    rows = benefits[benefits["contrast"] == "fitted_person_specific"]
    return [
        {
            "dataset": index,
            "fit_gain": gain,
            "fit_noise": noise,
            "sd_persona": sd_persona,
            "experiment": row["experiment"],
            "truth": benefit,
            "estimate": float(row["mean"]),
            "lower": float(row["lower"]),
            "upper": float(row["upper"]),
            "covered": bool(row["lower"] <= benefit <= row["upper"]),
            "above_zero": bool(row["lower"] > 0.0),
            "passed": bool(row["passed"]),
            "persons": int(row["n_participants"]),
        }
        for row in rows.to_dict("records")
    ]


def summary(results: pd.DataFrame) -> pd.DataFrame:
    results = results.assign(error=(results["estimate"] - results["truth"]).abs())
    return results.groupby(["fit_gain", "fit_noise", "sd_persona", "experiment"]).agg(
        datasets=("dataset", "nunique"),
        mean_truth=("truth", "mean"),
        coverage=("covered", "mean"),
        share_above_zero=("above_zero", "mean"),
        median_abs_error=("error", "median"),
        gate_passed=("passed", "mean"),
    )


def figure(results: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results[results["experiment"] != POOLED].sort_values(
        ["fit_gain", "sd_persona", "dataset"]
    )
    fig, ax = plt.subplots(figsize=(7, 0.12 * len(rows) + 1.5))
    y = list(range(len(rows)))
    colours = ["C0" if c else "C3" for c in rows["covered"]]
    ax.hlines(y, rows["lower"], rows["upper"], colors=colours, lw=1.2)
    ax.scatter(rows["estimate"], y, s=8, c=colours)
    ax.scatter(rows["truth"], y, marker="|", s=40, c="k", label="truth")
    position = {index: i for i, index in enumerate(rows.index)}
    for (gain, sd_persona), group in rows.groupby(["fit_gain", "sd_persona"], sort=False):
        top = position[group.index[-1]]
        ax.axhline(top + 0.5, color="0.8", lw=0.6)
        label = f"fit_gain {gain:g}" + (f", sd_persona {sd_persona:g}" if sd_persona else "")
        ax.annotate(label, (ax.get_xlim()[1], top + 0.3), fontsize=8, ha="right", va="top")
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.set_title(
        f"C5 person-specific benefit: {rows['covered'].mean():.0%} of {len(rows)} "
        "94% intervals cover the truth",
        fontsize=10,
    )
    ax.set_xlabel("NLL(fitted_other) - NLL(fitted_own), nats per held-out choice (red: miss)")
    ax.set_yticks([])
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--persons", type=int, default=40)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/coverage_fitted.csv"))
    parser.add_argument("--figure", type=Path, default=Path("results/coverage_fitted.png"))
    args = parser.parse_args()

    done = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame()
    key = ["dataset", "fit_gain", "fit_noise", "sd_persona"]
    finished = set(done[key].itertuples(index=False, name=None)) if len(done) else set()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    todo = [(i, t) for i in range(args.datasets) for t in TRUTHS if (i, *t) not in finished]
    started = time.perf_counter()
    for count, (index, truth) in enumerate(todo, start=1):
        rows = pd.DataFrame(one_dataset(index, truth, args))
        done = pd.concat([done, rows], ignore_index=True)
        done.to_csv(args.out, index=False)
        elapsed = time.perf_counter() - started
        eta = elapsed / count * (len(todo) - count)
        print(f"{count}/{len(todo)} ({elapsed:.0f} s, about {eta:.0f} s left)", flush=True)
    print(summary(done).to_string())
    figure(done, args.figure)
    print(f"wrote {args.out} and {args.figure}")


if __name__ == "__main__":
    main()
