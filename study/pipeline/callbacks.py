"""Hydra callbacks of the pipeline.

A sweep (``-m``) runs its jobs into one shared ``out=``; each job writes the report of
its own results into its own folder (``OUT/jobs/SHORT``), and when the sweep ends
:class:`ReportOnMultirunEnd` writes ``OUT/report.md`` over the sweep's jobs: one
section per job, or a single run's report when the jobs differ only in their models
(study.pipeline.jobs).

The sweep's jobs are found as Hydra's basic sweeper makes them: the sweep's overrides
expanded into one list per job, each composed and keyed. Other jobs' results under the
same ``out=`` (an earlier run with other settings) are left out of the report. Under
another sweeper, whose jobs cannot be known in advance, every job recorded under
``out=`` is reported, each under its own settings.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class ReportOnMultirunEnd(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from study.pipeline.jobs import load_job
        from study.pipeline.stage import write_report

        if OmegaConf.select(config, "stage") != "pipeline":
            return
        root = Path(str(config.out))
        keys = sweep_job_keys(config, kwargs.get("config_name")) or recorded_jobs(root)
        jobs = []
        for key in keys:
            job = load_job(root, key)
            if job is None:
                log.warning("job %s of the sweep recorded nothing (did it fail?)", key[:10])
            else:
                jobs.append(job)
        if jobs:
            write_report(root, jobs)


def sweep_job_keys(config: DictConfig, config_name: str | None) -> list[str] | None:
    """The keys of the sweep's jobs, in the sweeper's order; None under a sweeper other
    than Hydra's basic one, or when the jobs cannot be composed here."""
    from hydra import compose
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from study.config import Config
    from study.pipeline.jobs import job_key

    sweeper = config.hydra.sweeper
    if not str(sweeper.get("_target_", "")).endswith(".BasicSweeper"):
        return None
    params = [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]
    try:
        parsed = OverridesParser.create().parse_overrides([*params, *config.hydra.overrides.task])
        (batch,) = BasicSweeper.split_arguments(parsed, None)
        keys = []
        for overrides in batch:
            composed = compose(config_name=config_name or "config", overrides=list(overrides))
            typed = OmegaConf.to_object(composed)
            assert isinstance(typed, Config)
            keys.append(job_key(asdict(typed)))
    except Exception as err:  # any failure falls back to every job recorded under out=
        log.warning("cannot list the sweep's jobs (%s); reporting every job under out=", err)
        return None
    return list(dict.fromkeys(keys))


def recorded_jobs(root: Path) -> list[str]:
    """Every job recorded under the experiment folder ``root``."""
    import json

    from study.pipeline.jobs import JOB_FILE

    return [json.loads(path.read_text())["key"] for path in sorted(root.glob(f"jobs/*/{JOB_FILE}"))]
