"""Results as JSON text, so the store holds plain data any tool can read.

Python writes floats in JSON with the shortest repr that reads back to the same double,
so a decoded result is bit-identical to the one encoded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from study.engines.base import SampleResult, ScoreResult


def encode_result(result: ScoreResult | SampleResult) -> str:
    """JSON text of ``result``; option probabilities keep their option order.

    >>> from study.engines.base import SampleResult
    >>> decode_result("sample", encode_result(SampleResult(("A",), 3, 2)))
    SampleResult(responses=('A',), tokens_evaluated=3, prompt_tokens=2)
    """
    data: dict[str, Any] = {name: getattr(result, name) for name in result.__slots__}
    if isinstance(result, ScoreResult) and result.option_probs is not None:
        data["option_probs"] = [list(probs.items()) for probs in result.option_probs]
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def decode_result(mode: str, text: str) -> ScoreResult | SampleResult:
    """The result that :func:`encode_result` turned into ``text``."""
    return result_from_data(mode, json.loads(text))


def result_from_data(mode: str, data: Mapping[str, Any]) -> ScoreResult | SampleResult:
    """The result from its decoded JSON (``mode``: score or sample)."""
    if mode == "sample":
        return SampleResult(
            responses=tuple(data["responses"]),
            tokens_evaluated=data["tokens_evaluated"],
            prompt_tokens=data["prompt_tokens"],
        )
    if mode != "score":
        raise ValueError(f"unknown mode {mode!r}")
    option_probs = data["option_probs"]
    return ScoreResult(
        nll=tuple(data["nll"]),
        n_tokens=tuple(data["n_tokens"]),
        option_probs=None
        if option_probs is None
        else tuple({option: prob for option, prob in pairs} for pairs in option_probs),
        tokens_evaluated=data["tokens_evaluated"],
        prompt_tokens=data["prompt_tokens"],
        dropped_tokens=tuple(data["dropped_tokens"]),
    )
