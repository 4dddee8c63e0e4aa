"""The variance stage: ``python -m study stage=variance variance.input=FILE ... out=DIR``.

Reads a CSV or parquet file, fits V1 and publishes into DIR, all at once (nothing on bad
input): the files of :func:`study.variance.outputs.save_fit` (the same as the pipeline's
V1 step: components.csv, diagnostics.csv, posterior.nc, shares.png, components.png,
reml.csv for gaussian data, c1.json and d_study.csv when ``variance.persona`` is a
factor), and fingerprint.json. Exit status 0 only when the
fit passes its diagnostics; a failed fit is still written, marked failed, and the
command exits 3. A rerun with the same configuration and input finds DIR up to date and
does not refit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import polars as pl

from study.atomic import StagedOutputs
from study.config import Config
from study.errors import ConfigError, DiagnosticsFailedError, StudyInputError
from study.variance.config import VarianceConfig
from study.variance.fit import fit
from study.variance.outputs import save_fit

log = logging.getLogger(__name__)
FINGERPRINT = "fingerprint.json"


def read_table(path: Path) -> tuple[pl.DataFrame, int]:
    """The file as a frame, and the line of its first data row (CSV: 2, parquet: 1)."""
    if not path.is_file():
        raise StudyInputError("file not found", file=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path), 1
        if suffix in {".csv", ".tsv"}:
            separator = "\t" if suffix == ".tsv" else ","
            return pl.read_csv(path, separator=separator, infer_schema_length=None), 2
    except (pl.exceptions.PolarsError, OSError) as err:
        raise StudyInputError(f"cannot read the file: {err}", file=str(path)) from None
    raise ConfigError(f"variance.input must be .csv, .tsv or .parquet, got {path.name!r}")


def fingerprint(cfg: Config, path: Path) -> dict[str, Any]:
    """What the outputs depend on: the variance settings, the seed and the input's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    settings = asdict(cfg.variance)
    settings.pop("progress")
    return {"variance": settings, "seed": cfg.seed, "input_sha256": digest.hexdigest()}


def _up_to_date(out: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
    marker = out / FINGERPRINT
    if not marker.is_file():
        return None
    recorded = json.loads(marker.read_text())
    if recorded.get("inputs") != expected:
        return None
    if not all((out / name).exists() for name in recorded.get("files", [])):
        return None
    return recorded


def run(cfg: Config) -> None:
    """Fit V1 to ``cfg.variance.input`` and publish the outputs into ``cfg.out``."""
    settings: VarianceConfig = cfg.variance
    if settings.input is None:
        raise ConfigError("variance.input is required: a CSV or parquet file")
    if settings.interval not in {"eti", "hdi"}:
        raise ConfigError(f"variance.interval must be eti or hdi, got {settings.interval!r}")
    if settings.sampler not in {"auto", "nutpie", "pymc"}:
        raise ConfigError(
            f"variance.sampler must be auto, nutpie or pymc, not {settings.sampler!r}"
        )
    path = Path(settings.input)
    out = Path(cfg.out)
    frame, first_line = read_table(path)
    expected = fingerprint(cfg, path)
    recorded = _up_to_date(out, expected)
    if recorded is not None:
        log.info("%s is up to date with %s; not refitting", out, path)
        _raise_if_failed(bool(recorded["passed"]), out)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # the exit status reports it
        result = fit(
            frame,
            settings.formula,
            outcome=None if settings.formula else settings.outcome,
            factors=None if settings.formula else list(settings.factors),
            family=settings.family,
            trials=settings.trials,
            categories=None if settings.categories is None else list(settings.categories),
            residual=settings.residual,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.cores,
            seed=cfg.seed,
            sampler=cast(Any, settings.sampler),
            target_accept=settings.target_accept,
            retries=settings.retries,
            prob=settings.prob,
            interval_kind=cast(Any, settings.interval),
            progress=settings.progress,
            source=str(path),
            first_line=first_line,
        )
    with StagedOutputs(out) as staged:
        written = save_fit(
            result, staged.path, persona=settings.persona, d_study_runs=list(settings.d_study_runs)
        )
        staged.path(FINGERPRINT).write_text(
            json.dumps({"inputs": expected, "passed": result.passed, "files": written}, indent=2)
            + "\n"
        )
    print(result.summary())
    if settings.persona in result.layout.factors:
        print(result.c1(settings.persona))
    for note in result.notes:
        print(note)
    _raise_if_failed(result.passed, out)


def _raise_if_failed(passed: bool, out: Path) -> None:
    if not passed:
        raise DiagnosticsFailedError(
            f"the fit failed its diagnostics (R-hat <= 1.01, bulk ESS >= 400, no divergences);"
            f" see {out / 'diagnostics.csv'}; outputs are marked failed. More draws "
            "(variance.draws, variance.tune) usually help."
        )
