"""Sample until the diagnostics gate passes or the retries run out (V1 and V2 alike).

A failed gate is often the sampler's fault, not the model's: divergences call for
smaller steps (a funnel at a small SD), too few effective draws for more draws. Each
retry reuses the compiled model; only the last attempt is reported, and the notes say
what was retried.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pymc as pm
import xarray as xr

from study.variance.diagnostics import (
    DIVERGENCES_ROW,
    count_divergences,
    diagnostics_table,
    failed_rows,
    gate_passed,
)
from study.variance.sampling import SamplerSettings, sample

# Adds the derived quantities (shares, drawn group means, ...) to a fresh posterior.
Derive = Callable[[xr.DataTree], xr.DataTree]


@dataclass
class Attempts:
    tree: xr.DataTree
    diagnostics: pd.DataFrame
    passed: bool
    notes: list[str]


def retry_settings(settings: SamplerSettings, diagnostics: pd.DataFrame) -> SamplerSettings:
    """Settings for another attempt after a failed gate: divergences shrink the distance
    to an acceptance of 1 fourfold (0.8, then 0.95, then 0.9875); too few effective draws
    or a high R-hat call for twice the draws. A new seed either way.

    >>> failed = pd.DataFrame({"parameter": ["sigma[a]", "divergent transitions"],
    ...                        "gated": [True, True], "passed": [False, False]})
    >>> again = retry_settings(SamplerSettings(draws=1000), failed)
    >>> again.draws, again.target_accept, retry_settings(again, failed).target_accept
    (2000, 0.95, 0.9875)
    """
    rows = failed_rows(diagnostics)
    changes: dict[str, Any] = {"seed": settings.seed + 1}
    if DIVERGENCES_ROW in rows:
        changes["target_accept"] = round(1.0 - (1.0 - settings.target_accept) / 4.0, 6)
    if any(row != DIVERGENCES_ROW for row in rows):
        changes["draws"] = settings.draws * 2
    return replace(settings, **changes)


def sample_until_passed(
    model: pm.Model,
    var_names: Sequence[str],
    settings: SamplerSettings,
    retries: int,
    *,
    derive: Derive,
    gated: Sequence[str],
    informational: Sequence[str] = (),
    block: int | None = None,
) -> Attempts:
    """Sample ``var_names``, add the derived quantities, gate the ``gated`` variables
    (``informational`` ones are diagnosed but do not gate) and divergences; resample up to
    ``retries`` times (:func:`retry_settings`). The tree records ``attempts`` and
    ``diagnostics_passed``.

    With ``block``, ``settings.draws`` is a cap: each attempt stops at the first multiple
    of ``block`` draws per chain that passes the gate, or as soon as a divergence makes
    passing impossible (:func:`study.variance.sampling.sample`)."""

    def evaluate(fresh: xr.DataTree) -> tuple[xr.DataTree, pd.DataFrame]:
        tree = derive(fresh)
        posterior = tree["posterior"].to_dataset()
        table = diagnostics_table(
            posterior, list(gated), list(informational), count_divergences(tree)
        )
        return tree, table

    def settled(draws: xr.DataTree) -> bool:
        """Stop drawing: the gate is met, or a divergence means it cannot be. Only the
        gated quantities are diagnosed here (thousands of level effects would cost more
        than the draws saved); the final table diagnoses the rest."""
        if count_divergences(draws) > 0:
            return True
        posterior = derive(draws)["posterior"].to_dataset()
        return gate_passed(diagnostics_table(posterior, list(gated), [], 0))

    notes: list[str] = []
    for attempt in range(retries + 1):
        if block is None:
            fresh = sample(model, var_names, settings)
        else:
            fresh = sample(model, var_names, settings, stop=settled, block=block)
        tree, diagnostics = evaluate(fresh)
        passed = gate_passed(diagnostics)
        if passed or attempt == retries:
            break
        settings = retry_settings(settings, diagnostics)
        notes.append(
            f"attempt {attempt + 1} failed its diagnostics ({', '.join(failed_rows(diagnostics))});"
            f" resampled with target_accept={settings.target_accept}, draws={settings.draws}"
        )
    tree.attrs["attempts"] = attempt + 1
    tree.attrs["diagnostics_passed"] = int(passed)
    # The last attempt's sampler settings, so that a saved fit says how it was drawn.
    tree.attrs["target_accept"] = settings.target_accept
    tree.attrs["tune"] = settings.tune
    return Attempts(tree, diagnostics, passed, notes)


def warn_if_failed(
    attempts: Attempts,
    what: str,
    category: type[Warning] = UserWarning,
    note: str = "",
    *,
    at_user_code: bool = False,
) -> None:
    """Warn that the fit ``what`` failed its gate: at the caller's caller, or with
    ``at_user_code`` at the first caller outside this package (the same line whichever
    of the library's entry points, :func:`~study.variance.fit` or a model's ``fit``,
    was called)."""
    if attempts.passed:
        return
    message = (
        f"{what} FAILED its diagnostics ({', '.join(failed_rows(attempts.diagnostics))}){note}"
    )
    if at_user_code:
        warnings.warn(message, category, skip_file_prefixes=(str(Path(__file__).parent),))
    else:
        warnings.warn(message, category, stacklevel=3)
