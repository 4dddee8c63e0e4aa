"""Jobs: the configuration a result belongs to, so a sweep keeps every job apart.

A job is one composed configuration of the pipeline. Its key hashes that configuration
less what neither changes a result nor tells two jobs apart:

- where outputs go and how the run goes: ``out``, ``store``, ``fresh``, ``dry_run``,
  ``stage``;
- which models: ``model`` and ``pipeline.models``. Jobs that differ only in their models
  (one model per job on a cluster, see the README) are one job, whose report compares
  its models, as C3 must; every model's results are in manifests of their own anyway.

Jobs that differ in anything else (``synth.participants=6,8``) are different jobs: each
has its own manifests (``OUT/manifests/NAME-SHORT.json``, naming the job), its own
record ``OUT/jobs/SHORT/job.json`` (key, the overrides that made it, its configuration)
and its own section of a sweep's report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from study.atomic import atomic_path
from study.config import Config
from study.pipeline.steps import digest

JOB_FILE = "job.json"
# Top-level settings that are not part of a job's identity (see the module docstring).
NOT_JOB = frozenset({"out", "store", "fresh", "dry_run", "stage", "model", "hydra"})


@dataclass(frozen=True)
class Job:
    """``config``: the whole configuration (``asdict`` of :class:`study.config.Config`);
    ``overrides``: the command-line overrides that made it, less those of settings that
    are not part of its identity (``out=``, ``hydra/launcher=``, ``pipeline.models=``)."""

    key: str
    config: Mapping[str, Any]
    overrides: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.key[:10]

    def record(self) -> dict[str, Any]:
        return {"key": self.key, "overrides": list(self.overrides), "config": dict(self.config)}


def job_key(config: Mapping[str, Any]) -> str:
    """The key of the job whose whole configuration (as a dict) is ``config``."""
    kept = {name: value for name, value in config.items() if name not in NOT_JOB}
    pipeline = dict(kept.get("pipeline") or {})
    pipeline.pop("models", None)
    kept["pipeline"] = pipeline
    return digest(kept)


def job_of(cfg: Config, overrides: Sequence[str] | None = None) -> Job:
    """The job of ``cfg``; ``overrides`` default to those of the running Hydra command
    (none outside one)."""
    if overrides is None:
        overrides = _command_overrides()
    config = asdict(cfg)
    return Job(job_key(config), config, tuple(o for o in overrides if _identifies(o)))


def _command_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _identifies(override: str) -> bool:
    """Whether ``override`` sets a part of a job's identity.

    >>> [_identifies(o) for o in ["synth.participants=6", "out=x", "hydra/launcher=joblib"]]
    [True, False, False]
    >>> [_identifies(o) for o in ["pipeline.models=[a]", "+model.n_ctx=9", "pipeline.rope=0.1"]]
    [False, False, True]
    """
    key = override.split("=", 1)[0].lstrip("+~")
    root = key.replace("/", ".").split(".")[0]
    return root not in NOT_JOB and key != "pipeline.models"


def in_sweep() -> bool:
    """Whether this process runs one job of a Hydra multirun (``-m``)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def job_folder(root: Path, job: Job | str) -> Path:
    """``OUT/jobs/SHORT``: the job's record and, in a sweep of several jobs, its report."""
    key = job.key if isinstance(job, Job) else job
    return root / "jobs" / key[:10]


def save_job(root: Path, job: Job, folder: Path | None = None) -> Path:
    """Write ``job.json`` into ``folder`` (by default the job's folder under ``root``),
    saying which experiment folder's manifests it reads (see study.pipeline.outputs)."""
    folder = folder or job_folder(root, job)
    target = folder / JOB_FILE
    record = {**job.record(), "experiment": os.path.relpath(root, folder)}
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return target


def load_job(root: Path, key: str) -> Job | None:
    """The job ``key`` as recorded under ``root``; None when it never wrote its record."""
    path = job_folder(root, key) / JOB_FILE
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return Job(record["key"], record["config"], tuple(record.get("overrides", ())))


def distinguishing(jobs: Sequence[Job]) -> dict[str, list[str]]:
    """For each job (by key), what tells it from the others: the overrides not all of
    them share; where those do not tell them apart (jobs run with the same overrides by
    different code), the settings whose values differ.

    >>> a = Job("a", {"seed": 0, "runs": 2}, ("experiment=x", "runs=2"))
    >>> b = Job("b", {"seed": 0, "runs": 3}, ("experiment=x", "runs=3"))
    >>> distinguishing([a, b])
    {'a': ['runs=2'], 'b': ['runs=3']}
    >>> distinguishing([Job("a", {"seed": 0}), Job("b", {"seed": 1})])
    {'a': ['seed=0'], 'b': ['seed=1']}
    """
    if len(jobs) < 2:
        return {job.key: [] for job in jobs}
    shared = set.intersection(*(set(job.overrides) for job in jobs))
    labels = {job.key: [o for o in job.overrides if o not in shared] for job in jobs}
    if len({tuple(label) for label in labels.values()}) == len(jobs):
        return labels
    flat = {job.key: _flatten(job.config) for job in jobs}
    names = sorted(set().union(*flat.values()))
    differing = [
        n for n in names if len({json.dumps(f.get(n), default=str) for f in flat.values()}) > 1
    ]
    return {key: [f"{n}={_show(values.get(n))}" for n in differing] for key, values in flat.items()}


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in config.items():
        if not prefix and name in NOT_JOB:
            continue
        dotted = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{dotted}."))
        elif dotted != "pipeline.models":
            flat[dotted] = value
    return flat


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)
