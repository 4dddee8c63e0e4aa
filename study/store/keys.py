"""Content-hash keys: two requests share a key exactly when their results must agree."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from study.engines.base import SampleRequest, ScoreRequest


def request_key(
    fingerprint: Mapping[str, str], mode: str, request: ScoreRequest | SampleRequest
) -> str:
    """sha256 over the engine fingerprint (engine, package version, code version, model
    sha256, settings: see each engine's ``fingerprint``), the mode, and every field of
    the request (prompt, spans, options, tags, and for samples the seed and sampling
    parameters). A changed engine code version is thus a changed key: stored results of
    older engine code are never reused.

    >>> from study.engines.base import ScoreRequest
    >>> a = ScoreRequest("x <<y>>", ((4, 5),))
    >>> fp = {"engine": "simulated", "model_sha256": ""}
    >>> same = ScoreRequest("x <<y>>", ((4, 5),))
    >>> request_key(fp, "score", a) == request_key(dict(fp), "score", same)
    True
    >>> request_key(fp, "score", a) == request_key({**fp, "model_sha256": "ab"}, "score", a)
    False
    """
    fields = {name: getattr(request, name) for name in request.__slots__}
    canonical = json.dumps(
        {"fingerprint": dict(sorted(fingerprint.items())), "mode": mode, "request": fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
