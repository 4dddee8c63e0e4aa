"""Settings of the respond stage that are not the engine's or the model's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SamplingConfig:
    # Sample mode: at most this many tokens per response before giving up on ``>>``.
    max_tokens: int = 16
    temperature: float = 1.0
