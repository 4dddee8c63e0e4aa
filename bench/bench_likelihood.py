"""Benchmark: the binomial log-likelihood and its gradient, the Op against PyTensor's softplus.

    .venv/bin/python bench/bench_likelihood.py [--cells 100000] [--repeats 300]

On as many cells as the variance benchmark's million rows make (100,000 cells of 10
Bernoulli rows each), compiled by numba as nutpie compiles it (fastmath off), in one run:
the value and gradient of ``sum(k * eta - n * softplus(eta))`` as PyTensor writes it (the
baseline), and of the same sum through study.variance.logit_binomial's Op. Prints the
milliseconds per evaluation (best of five rounds of ``--repeats``), their ratio, the
largest difference between the two gradients, and the load average.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import pytensor
import pytensor.tensor as pt

from study.variance.logit_binomial import binomial_logit


def best_milliseconds(call: Callable[[], object], repeats: int) -> float:
    call()
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeats):
            call()
        rounds.append((time.perf_counter() - started) / repeats * 1e3)
    return min(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    trials = np.full(args.cells, 10.0)
    successes = rng.binomial(10, 0.4, args.cells).astype(float)
    point = rng.normal(-0.3, 1.5, args.cells)
    eta = pt.dvector("eta")
    graphs = {
        "softplus (baseline)": pt.sum(successes * eta - trials * pt.softplus(eta)),
        "binomial_logit Op": pt.sum(binomial_logit(eta, successes, trials)[0]),
    }
    timings, gradients = {}, {}
    with warnings.catch_warnings(), pytensor.config.change_flags(numba__fastmath=False):
        warnings.simplefilter("ignore")
        for name, total in graphs.items():
            function = pytensor.function([eta], [total, pt.grad(total, eta)], mode="NUMBA")
            timings[name] = best_milliseconds(lambda f=function: f(point), args.repeats)
            gradients[name] = function(point)[1]
    baseline, op = timings.values()
    for name, milliseconds in timings.items():
        print(f"{name:<22} {milliseconds:7.3f} ms per value and gradient ({args.cells:,} cells)")
    difference = np.max(np.abs(np.subtract(*gradients.values())))
    print(f"speed-up {baseline / op:.2f}x; largest gradient difference {difference:.1e}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
