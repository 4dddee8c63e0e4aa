"""Write a V1 result as files: tables (CSV), posterior (zipped zarr), C1, D-study, plots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from study.variance.plots import plot_components, plot_shares
from study.variance.result import VarianceResult, save_tree

COMPONENTS = "components.csv"
DIAGNOSTICS = "diagnostics.csv"
REML = "reml.csv"
POSTERIOR = "posterior.zarr.zip"
C1 = "c1.txt"
D_STUDY = "d_study.csv"
SHARES_PLOT = "shares.png"
COMPONENTS_PLOT = "components.png"


def write_outputs(
    result: VarianceResult,
    path_for: Callable[[str], Path],
    persona: str = "persona",
    d_study_runs: list[int] | None = None,
) -> list[str]:
    """Write every output through ``path_for(name)``; return the names written.

    C1 and the D-study are written when ``persona`` is a main-effect factor of the fit.
    """
    written = [COMPONENTS, DIAGNOSTICS, POSTERIOR, SHARES_PLOT, COMPONENTS_PLOT]
    result.components.to_csv(path_for(COMPONENTS), index=False, float_format="%.6g")
    result.diagnostics.to_csv(path_for(DIAGNOSTICS), index=False, float_format="%.6g")
    save_tree(result.tree, path_for(POSTERIOR))
    plot_shares({"data scale": result}, path=path_for(SHARES_PLOT))
    plot_components(result, path=path_for(COMPONENTS_PLOT))
    if result.reml is not None:
        result.reml.to_csv(path_for(REML), index=False, float_format="%.6g")
        written.append(REML)
    if persona in result.layout.factors:
        path_for(C1).write_text(str(result.c1(persona)) + "\n")
        sizes = None if d_study_runs is None else {"run": d_study_runs}
        table = result.d_study(target=persona, sizes=sizes)
        table.to_csv(path_for(D_STUDY), index=False, float_format="%.6g")
        written += [C1, D_STUDY]
    return written
