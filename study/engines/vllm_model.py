"""Weights for vLLM: a local Hugging Face folder, or one converted once from the GGUF.

vLLM reads Hugging Face folders (config, tokenizer, safetensors). A model configured by
its GGUF file (``model.gguf``, study.engines.models) is converted to such a folder by
study/engines/vllm_convert.py, run with an interpreter that has transformers and gguf
(the vLLM environment's), and cached under ``<model cache>/hf/<stem>-<sha256[:16]>``:
the GGUF's sha256 is the key, so a changed file converts again and an unchanged one
never does. Its identity in the store is the GGUF's sha256, as for llama.cpp.

A folder given directly (``engine.weights``, e.g. a GPU user's own checkpoint) is
identified by a digest of its config and the names and sizes of its weight files:
cheap for a 70B model, and it changes when the checkpoint does.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from study.engines.config import ModelConfig
from study.engines.models import cache_dir, file_sha256, resolve_gguf
from study.errors import ConfigError

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CONVERTER = Path(__file__).resolve().with_name("vllm_convert.py")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")


@dataclass(frozen=True, slots=True)
class VllmWeights:
    # The Hugging Face folder vLLM loads.
    path: Path
    # What identifies the weights: the GGUF's sha256, or the folder's digest.
    sha256: str


def default_vllm_python() -> Path:
    """The vLLM CPU environment's interpreter (``make vllm-env``)."""
    return REPO_ROOT / ".venv-vllm" / "bin" / "python"


def resolve_python(configured: str, setting: str = "engine.python", needs: str = "vLLM") -> Path:
    """The interpreter to run vLLM (or another tool of its environment, ``needs``) with:
    ``configured`` (relative paths from the current folder, then from the repository),
    or the vLLM environment's by default. ``setting`` names the option in the error."""
    if not configured:
        python = default_vllm_python()
    else:
        python = Path(configured).expanduser()
        if not python.is_absolute() and not python.exists():
            python = REPO_ROOT / python
    if not python.exists():
        raise ConfigError(
            f"no Python interpreter at {python} (needed for {needs}); build the vLLM "
            f"environment with `make vllm-env`, or set {setting} to an interpreter that "
            f"has {needs}"
        )
    return python


def vllm_weights(model: ModelConfig, weights: str, python: Path) -> VllmWeights:
    """The folder for ``model``: ``weights`` if given, else the converted GGUF."""
    if weights:
        folder = Path(weights).expanduser()
        if not (folder / "config.json").is_file():
            raise ConfigError(f"engine.weights={weights}: not a Hugging Face model folder")
        return VllmWeights(folder.resolve(), folder_digest(folder))
    gguf = resolve_gguf(model)
    sha256 = file_sha256(gguf)
    folder = cache_dir() / "hf" / f"{gguf.stem}-{sha256[:16]}"
    if not (folder / "source.json").is_file():
        convert(gguf, folder, sha256, python)
    return VllmWeights(folder, sha256)


def convert(gguf: Path, folder: Path, sha256: str, python: Path) -> None:
    logger.info("converting %s to a Hugging Face folder for vLLM (once)", gguf.name)
    started = time.monotonic()
    completed = subprocess.run(
        [str(python), str(CONVERTER), str(gguf), str(folder), "--sha256", sha256],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise ConfigError(f"converting {gguf} for vLLM with {python} failed:\n{tail}")
    logger.info("converted in %.0f s: %s", time.monotonic() - started, folder)


def folder_digest(folder: Path) -> str:
    """sha256 of a model folder's config and its weight files' names and sizes.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text("{}")
    >>> before = folder_digest(folder)
    >>> _ = (folder / "model.safetensors").write_bytes(b"123")
    >>> before != folder_digest(folder)
    True
    """
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for path in sorted(folder.iterdir()):
        if path.suffix in WEIGHT_SUFFIXES:
            digest.update(f"\n{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()


def running_python() -> Path:
    """This interpreter: the in-process engine converts with the Python it runs in."""
    return Path(sys.executable)
