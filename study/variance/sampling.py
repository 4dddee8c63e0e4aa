"""Run NUTS: nutpie by default, PyMC's own sampler as the fallback.

With a ``stop`` rule (:func:`sample`), nutpie draws in the background and the draws are
examined block by block (``block`` draws per chain): sampling stops at the first block
count whose draws satisfy the rule, and exactly those draws are returned. Each chain's
draws do not depend on how many are asked for, and the blocks are examined in order, so
the result does not depend on timing: the same seed gives the same draws.

nutpie compiles the model with numba once; the compiled model is kept (keyed by the
model's structure) and refitted to new data of the same design with ``with_data``, so a
coverage study or a sweep compiles once. Progress goes to stderr (draws, rate, ETA).
The same seed gives the same draws, in any process (see ``_sample_nutpie``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pymc as pm
import pytensor
import xarray as xr
from tqdm.auto import tqdm

Sampler = Literal["auto", "nutpie", "pymc"]
log = logging.getLogger(__name__)

_COMPILED: OrderedDict[str, Any] = OrderedDict()
_COMPILED_MAX = 8


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings. ``cores`` chains run at once (None: as many as this process may use
    CPUs, :func:`default_cores`); ``target_accept`` is nutpie's and PyMC's."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    cores: int | None = None
    seed: int = 0
    sampler: Sampler = "auto"
    target_accept: float = 0.8
    progress: bool = True


def default_cores(chains: int) -> int:
    """Chains to run at once: as many as this process may use CPUs, at most ``chains``."""
    affinity = getattr(os, "sched_getaffinity", None)
    available = len(affinity(0)) if affinity is not None else os.cpu_count()
    return max(1, min(chains, available or 1))


# At most this many chains by default: beyond it a first block already holds enough
# draws, and each further chain only adds its own tuning and memory.
MAX_DEFAULT_CHAINS = 8


def default_chains() -> int:
    """Chains for a fit that does not say: one per CPU this process may use, so that all
    run at once (a chain waiting for a core would double the wall time), at least 2 (so
    that R-hat compares chains) and at most :data:`MAX_DEFAULT_CHAINS`."""
    return max(2, default_cores(MAX_DEFAULT_CHAINS))


# Free parameters from which a model counts as large for the default target acceptance.
LARGE_MODEL = 1000
# The default target acceptance of small and of large models.
SMALL_MODEL_ACCEPT = 0.8
LARGE_MODEL_ACCEPT = 0.7


def default_target_accept(n_parameters: int) -> float:
    """NUTS's target acceptance for a model with ``n_parameters`` free parameters, when
    the caller does not say.

    Small models keep the usual 0.8 (PyMC's, Stan's and nutpie's default), which leaves
    room for the varying curvature of a hierarchical posterior with few levels. From
    :data:`LARGE_MODEL` parameters the target is 0.7: the step size that maximises
    effective draws per gradient falls as the dimension grows, with an acceptance near
    0.65 in the limit (Beskos, Pillai, Roberts, Sanz-Serna and Stuart 2013), and there a
    gradient is what costs. Measured on the benchmark's million rows (10,013 parameters):
    23 leapfrog steps per draw instead of 31, 300 draws per chain to the gate instead of
    350, no divergences (docs/sections/variance.md). A divergence still fails the gate,
    and the retry raises the target (:func:`study.variance.attempts.retry_settings`).

    >>> default_target_accept(25), default_target_accept(11_023)
    (0.8, 0.7)
    """
    return LARGE_MODEL_ACCEPT if n_parameters >= LARGE_MODEL else SMALL_MODEL_ACCEPT


def n_free_parameters(model: pm.Model) -> int:
    """How many numbers NUTS moves: the size of the model's unconstrained point."""
    return int(sum(np.size(value) for value in model.initial_point().values()))


def _cores(settings: SamplerSettings) -> int:
    return settings.cores if settings.cores is not None else default_cores(settings.chains)


def structure_key(model: pm.Model, var_names: Sequence[str]) -> str:
    """A hash of what a compiled model bakes in: graph, constants and stored names.

    ``pm.Data`` values are left out (they can change without recompiling); their shapes
    are kept, since the compiled functions assume them.
    """
    digest = hashlib.sha256()
    digest.update(repr(sorted(var_names)).encode())
    for name, data in sorted(model.named_vars.items()):
        digest.update(name.encode())
        if name in {v.name for v in model.data_vars}:
            digest.update(repr(np.shape(data.get_value())).encode())
    for constant in _graph_constants(model):
        digest.update(np.ascontiguousarray(constant).tobytes())
    digest.update(repr(model.coords).encode())
    return digest.hexdigest()


def _graph_constants(model: pm.Model) -> list[np.ndarray]:
    from pytensor.graph.traversal import ancestors
    from pytensor.tensor.variable import TensorConstant

    outputs = list(model.free_RVs) + list(model.observed_RVs) + list(model.potentials)
    outputs += list(model.deterministics)
    return [v.data for v in ancestors(outputs) if isinstance(v, TensorConstant)]


# Decides, from the draws so far (a prefix of every chain), whether to stop: True stops.
Stop = Callable[[xr.DataTree], bool]
# How often the background sampler is looked at, in seconds.
_POLL = 0.1


def sample(
    model: pm.Model,
    var_names: Sequence[str],
    settings: SamplerSettings,
    stop: Stop | None = None,
    block: int = 100,
) -> xr.DataTree:
    """Posterior draws of ``var_names`` as an ArviZ DataTree (posterior, sample_stats).

    With ``stop`` (nutpie only; PyMC's sampler draws them all), ``settings.draws`` is a
    cap and sampling ends at the first multiple of ``block`` draws per chain for which
    ``stop`` holds (see the module doc).
    """
    if settings.sampler in ("auto", "nutpie"):
        try:
            return _sample_nutpie(model, var_names, settings, stop, block)
        except Exception as err:
            if settings.sampler == "nutpie":
                raise
            warnings.warn(
                f"nutpie failed ({type(err).__name__}: {err}); falling back to PyMC's NUTS",
                RuntimeWarning,
                stacklevel=2,
            )
    return _sample_pymc(model, var_names, settings)


def _sample_nutpie(
    model: pm.Model,
    var_names: Sequence[str],
    settings: SamplerSettings,
    stop: Stop | None = None,
    block: int = 100,
) -> xr.DataTree:
    import nutpie

    key = structure_key(model, var_names)
    data = {v.name: v.get_value() for v in model.data_vars}
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
        compiled = _COMPILED[key].with_data(**data)
    else:
        # Without fastmath, numba keeps the order of floating-point sums, which otherwise
        # depends on memory alignment: the same seed gives the same draws in every process
        # (measured cost: about 2% per gradient).
        with pytensor.config.change_flags(numba__fastmath=False):
            compiled = nutpie.compile_pymc_model(model, var_names=list(var_names))
        _COMPILED[key] = compiled
        while len(_COMPILED) > _COMPILED_MAX:
            _COMPILED.popitem(last=False)
    total = settings.chains * (settings.tune + settings.draws)
    with _Progress(total, settings.progress) as progress:
        running = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=_cores(settings),
            seed=settings.seed,
            progress_bar=False,
            progress_callback=progress.update if settings.progress or stop else None,
            save_warmup=False,
            target_accept=settings.target_accept,
            blocking=stop is None,
        )
        tree = (
            running
            if stop is None
            else _until(
                running, stop, block, settings.draws, lambda: progress.slowest - settings.tune
            )
        )
    tree.attrs["sampler"] = "nutpie"
    return tree


def _prefix(tree: xr.DataTree, draws: int) -> xr.DataTree:
    """The first ``draws`` draws of every chain, in every group."""
    return xr.DataTree.from_dict(
        {
            node.path: node.to_dataset().isel(draw=slice(0, draws))
            if "draw" in node.to_dataset().dims
            else node.to_dataset()
            for node in tree.subtree
        }
    )


def _completed(tree: xr.DataTree) -> int:
    """Draws every chain has finished (the background trace pads the others with NaN)."""
    stats = tree["sample_stats"].to_dataset()
    if "draw" not in stats.dims or stats.sizes["draw"] == 0:
        return 0
    steps = np.asarray(stats["n_steps"].values, dtype=np.float64)
    return int(np.min(np.sum(np.isfinite(steps) & (steps > 0), axis=1)))


def _finished(running: Any) -> bool:
    """Whether nutpie's background sampler is done (it answers a timeout while busy)."""
    try:
        return bool(running.is_finished)
    except TimeoutError:
        return False


def _until(running: Any, stop: Stop, block: int, cap: int, drawn: Callable[[], int]) -> xr.DataTree:
    """Examine the background sampler's draws block by block, in order; stop at the first
    block count for which ``stop`` holds (or at ``cap``). ``drawn()`` tells (cheaply,
    from the progress reports) how many draws the slowest chain has made, so that the
    trace is copied only when a new block is complete."""
    examined = 0
    while True:
        finished = _finished(running)
        if not finished and drawn() < (examined + 1) * block:
            time.sleep(_POLL)
            continue
        trace = running.wait() if finished else running.inspect()
        available = cap if finished else _completed(trace)
        while (examined + 1) * block <= available:
            examined += 1
            candidate = _prefix(trace, examined * block)
            if stop(candidate):
                if not finished:
                    running.abort()
                return candidate
        if finished:
            return _prefix(trace, cap)


def _sample_pymc(model, var_names, settings: SamplerSettings) -> xr.DataTree:
    with model:
        tree = pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=_cores(settings),
            random_seed=settings.seed,
            progressbar=settings.progress,
            var_names=list(var_names),
            nuts_sampler="pymc",
            target_accept=settings.target_accept,
            compute_convergence_checks=False,
        )
    tree.attrs["sampler"] = "pymc"
    return tree


class _Progress:
    """A tqdm bar (rate and ETA) fed from nutpie's progress callback thread."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self.total = total
        self._bar: Any = None
        self._lock = threading.Lock()
        self._done = 0
        self.slowest = 0

    def __enter__(self) -> _Progress:
        if self.enabled:
            self._bar = tqdm(total=self.total, desc="NUTS draws", unit="draw", leave=False)
        return self

    def update(self, chains: Any) -> None:
        done = sum(int(chain.finished_draws) for chain in chains)
        divergences = sum(int(chain.divergences) for chain in chains)
        with self._lock:
            # The slowest chain's draws, tuning included: the blocks wait for it.
            self.slowest = min((int(chain.finished_draws) for chain in chains), default=0)
            if self._bar is not None and done > self._done:
                self._bar.update(done - self._done)
                self._bar.set_postfix(divergences=divergences, refresh=False)
                self._done = done

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
