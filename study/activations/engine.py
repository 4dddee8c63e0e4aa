"""The activations engine: the package's side of study/activations/driver.py.

The driver needs torch and transformers, which on these machines exist only in the
vLLM environment's Python 3.11 (.venv-vllm); so it runs as a child process of that
interpreter, started on the first request that is not already stored and kept for the
rest. Requests go as JSON lines on its stdin (the prompt already cut at its spans by
study.engines.pieces, so the cutting is the scoring engines' own code), answers come
back as JSON lines, and each request's states as a float16 ``.npy`` file in a private
temporary folder. The driver's stderr goes to a log file in that folder, quoted when it
fails.

The weights are the ones engine=vllm uses: the model's GGUF converted once to a float32
Hugging Face folder (study.engines.vllm_model), identified by the GGUF's sha256.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import numpy as np

from study.activations.bos import gguf_adds_bos
from study.activations.config import ActivationsConfig
from study.activations.records import ActivationRequest, ActivationResult
from study.activations.store import ActivationStore, activation_key
from study.code_version import code_version
from study.engines.config import ModelConfig
from study.engines.models import resolve_gguf
from study.engines.pieces import cut
from study.engines.vllm_model import resolve_python, vllm_weights
from study.errors import ConfigError, StudyError, StudyInputError

DRIVER = Path(__file__).resolve().with_name("driver.py")
# Seconds a driver gets to exit after its stdin closes before it is killed.
EXIT_GRACE_S = 10


def driver_python(configured: str) -> Path:
    """The interpreter that runs the driver, or a ConfigError that says how to get one."""
    return resolve_python(configured, "activations.python", "torch and transformers")


def owner(request: ActivationRequest) -> str | None:
    return dict(request.tags).get("participant")


class ActivationsEngine:
    """See the module docstring. ``calls`` counts the requests sent to the driver."""

    def __init__(self, settings: ActivationsConfig, model: ModelConfig) -> None:
        if settings.chunk_size < 1:
            raise ConfigError(
                f"activations.chunk_size must be at least 1, got {settings.chunk_size}"
            )
        if settings.dtype not in ("float32", "bfloat16", "float16"):
            raise ConfigError(
                f"activations.dtype must be float32, bfloat16 or float16, got {settings.dtype!r}"
            )
        self.settings = settings
        self.model = model
        self.python = driver_python(settings.python)
        self.weights = vllm_weights(model, settings.weights, self.python)
        self.calls = 0
        self._process: subprocess.Popen[str] | None = None
        self._workdir: Path | None = None
        self._log: IO[str] | None = None
        # What the driver said when it started (layers, hidden size, device, versions).
        self.info: dict[str, Any] = {}

    # -- identity -------------------------------------------------------------------

    @cached_property
    def _versions(self) -> dict[str, str]:
        # From package metadata, without importing torch: a fingerprint must be cheap,
        # so that a run whose results are all stored never starts the driver.
        script = (
            "import importlib.metadata as m, json; "
            "print(json.dumps({p: m.version(p) for p in ('torch', 'transformers')}))"
        )
        done = subprocess.run(
            [str(self.python), "-c", script], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise ConfigError(
                f"{self.python} lacks torch or transformers, which the activations engine "
                f"needs (`make vllm-env` builds an environment that has them):\n"
                f"{done.stderr.strip()[-800:]}"
            )
        return dict(json.loads(done.stdout))

    def fingerprint(self) -> Mapping[str, str]:
        return {
            "engine": "activations",
            # The driver and this module: changed code is new results.
            "code_version": code_version(__name__) + code_version("study.activations.driver"),
            "model": self.model.name,
            "model_sha256": self.weights.sha256,
            "device": self.settings.device,
            "dtype": self.settings.dtype,
            # Chunks change the shapes of the matrix products, hence the last bits.
            "chunk_size": str(self.settings.chunk_size),
            "torch": self._versions["torch"],
            "transformers": self._versions["transformers"],
        }

    # -- the driver -----------------------------------------------------------------

    def _start(self) -> subprocess.Popen[str]:
        if self._process is not None:
            return self._process
        self._workdir = Path(tempfile.mkdtemp(prefix="study-activations-"))
        self._log = (self._workdir / "driver.log").open("w")
        command = [
            str(self.python),
            str(DRIVER),
            str(self.weights.path),
            "--device",
            self.settings.device,
            "--dtype",
            self.settings.dtype,
            "--threads",
            str(self.settings.threads),
        ]
        if not self.settings.weights:
            # Converted from the GGUF: its BOS flag decides, as in llama.cpp.
            adds = gguf_adds_bos(resolve_gguf(self.model))
            command += ["--bos", "yes" if adds else "no"]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self.info = self._read()
        return self._process

    def _read(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise StudyError(f"the activations driver ({DRIVER.name}) stopped:\n{self._log_tail()}")
        return dict(json.loads(line))

    def _log_tail(self) -> str:
        if self._workdir is None:
            return ""
        text = (self._workdir / "driver.log").read_text(errors="replace")
        return "\n".join(text.strip().splitlines()[-15:])

    def compute(self, request: ActivationRequest) -> ActivationResult:
        """Run one request through the driver."""
        try:
            pieces = cut(request.prompt, request.spans, request.template_chars)
        except ValueError as err:
            raise StudyInputError(str(err), participant=owner(request)) from None
        process = self._start()
        assert process.stdin is not None and self._workdir is not None
        out = self._workdir / "states.npy"
        message: dict[str, Any] = {
            "pieces": [[p.text, p.choice, p.template] for p in pieces],
            "layers": None if request.layers is None else list(request.layers),
            "chunk": self.settings.chunk_size,
            "out": str(out),
            "options": list(request.options),
        }
        if request.steer_layer is not None:
            message["steer"] = {"layer": request.steer_layer, "vector": list(request.steer)}
        self.calls += 1
        try:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
        except BrokenPipeError:
            raise StudyError(f"the activations driver stopped:\n{self._log_tail()}") from None
        answer = self._read()
        if "error" in answer:
            if answer["error"].startswith("IndexError"):
                raise ConfigError(f"activations.layers: {answer['error']}")
            if answer["error"].startswith("ValueError"):
                raise StudyInputError(answer["error"], participant=owner(request), field="text")
            raise StudyError(f"the activations driver failed: {answer['error']}")
        states = np.load(out)
        out.unlink()
        return ActivationResult(
            states=states,
            layers=tuple(answer["layers"]),
            nll=tuple(answer["nll"]),
            n_tokens=tuple(answer["n_tokens"]),
            positions=tuple(answer["positions"]),
            prompt_tokens=int(answer["prompt_tokens"]),
            option_logprobs=tuple(tuple(row) for row in answer.get("option_logprobs", [])),
        )

    @property
    def driver_pid(self) -> int | None:
        """The driver's process id while it runs (benchmarks read its memory)."""
        return None if self._process is None else self._process.pid

    def close(self) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=EXIT_GRACE_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> ActivationsEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def activations(
    engine: ActivationsEngine,
    store: ActivationStore,
    requests: Sequence[ActivationRequest],
    *,
    fresh: bool = False,
) -> Iterator[ActivationResult]:
    """Each request's result in order: from the store when it holds it (unless
    ``fresh``), else computed and stored at once, so a killed run keeps what it
    finished and its rerun computes only the rest."""
    fingerprint = engine.fingerprint()
    provenance = {**fingerprint, "device_name": ""}
    for request in requests:
        key = activation_key(fingerprint, request)
        stored = None if fresh else store.get(key)
        if stored is not None:
            yield stored
            continue
        result = engine.compute(request)
        provenance["device_name"] = engine.info.get("device", "")
        store.put(key, result, provenance)
        yield result
