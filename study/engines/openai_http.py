"""A small JSON-over-HTTP client for OpenAI-compatible servers (standard library only).

What it adds to ``urllib``: a per-request timeout, retries with exponential backoff for
failures worth retrying (connection errors, timeouts, 408, 409, 429 and 5xx, honouring
``Retry-After``), and a limit on requests in flight (:meth:`HttpClient.map`).

The API key is read from the environment variable the configuration names, when the
client is built, and lives only in the private request headers: it is never logged,
never part of an error message or ``repr``, and never returned.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from study.engines.config import HttpClientConfig
from study.errors import StudyError

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
T = TypeVar("T")
R = TypeVar("R")


class ServerError(StudyError):
    """A request the server refused or that kept failing; says which and why."""


class HttpClient:
    """JSON requests to one server.

    >>> client = HttpClient("http://127.0.0.1:9/v1", HttpClientConfig(), api_key_env="")
    >>> client.url("/completions")
    'http://127.0.0.1:9/v1/completions'
    """

    def __init__(self, base_url: str, settings: HttpClientConfig, api_key_env: str) -> None:
        if settings.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {settings.concurrency}")
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.api_key_env = api_key_env
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(api_key_env) if api_key_env else None
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self.sends_key = bool(key)

    def __repr__(self) -> str:
        key = f"key from ${self.api_key_env}" if self.sends_key else "no key"
        return f"HttpClient({self.base_url!r}, {key})"

    def url(self, path: str) -> str:
        return path if "://" in path else self.base_url + path

    def get(self, path: str) -> Any:
        return self._request("GET", path, None)

    def post(self, path: str, payload: Any) -> Any:
        return self._request("POST", path, json.dumps(payload).encode())

    def map(self, func: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """``func`` over ``items`` with at most ``concurrency`` running at once, results
        in order."""
        if self.settings.concurrency == 1 or len(items) <= 1:
            yield from map(func, items)
            return
        with ThreadPoolExecutor(self.settings.concurrency) as pool:
            yield from pool.map(func, items)

    def _request(self, method: str, path: str, body: bytes | None) -> Any:
        url = self.url(path)
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            request = urllib.request.Request(url, data=body, headers=self._headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as err:
                detail = _error_detail(err)
                retryable = err.code in RETRY_STATUS
                problem = f"HTTP {err.code}: {detail}"
                wait = _retry_after(err)
                if err.code == 401:
                    problem += (
                        f" (the API key comes from ${self.api_key_env}; it is "
                        f"{'set' if self.sends_key else 'not set'})"
                    )
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                reason = getattr(err, "reason", err)
                retryable, problem, wait = True, f"{type(reason).__name__}: {reason}", None
            if not retryable or attempt + 1 == attempts:
                tries = f" after {attempt + 1} tries" if attempt else ""
                raise ServerError(f"{method} {url} failed{tries}: {problem}")
            delay = wait if wait is not None else self.settings.backoff_s * 2**attempt
            logger.warning("%s %s: %s; retrying in %.1f s", method, url, problem, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _error_detail(err: urllib.error.HTTPError) -> str:
    try:
        text = err.read().decode(errors="replace")
    except OSError:
        return err.reason or ""
    try:
        body = json.loads(text)
        message = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(message, dict):
            message = message.get("message", message)
        return str(message)[:500]
    except json.JSONDecodeError:
        return text[:500]


def _retry_after(err: urllib.error.HTTPError) -> float | None:
    value = err.headers.get("Retry-After") if err.headers else None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None
