"""Where a result came from: config, versions, git commit, seed, engine fingerprints.

Every stage output carries this block, so a table found on its own still says how to
make it again; every pipeline step keeps its own record (study.pipeline.steps), made of
these helpers.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Packages whose versions change results; the engine adds its own fingerprint.
TRACKED_PACKAGES = (
    "study",
    "numpy",
    "polars",
    "pandas",
    "pymc",
    "pytensor",
    "arviz",
    "arviz-stats",
    "xarray",
    "scipy",
    "nutpie",
    "statsmodels",
    "hydra-core",
    "llama-cpp-python",
    "vllm",
)


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(repo: Path | None = None) -> str:
    """The checkout's commit, with ``+dirty`` when tracked files differ; ``unknown``
    outside a git checkout (an installed package, a tarball)."""
    where = repo or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def provenance(
    config: Mapping[str, Any], *, seed: int, engines: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The provenance block stored beside every stage output."""
    return {
        "config": dict(config),
        "seed": seed,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "engines": dict(engines or {}),
    }
