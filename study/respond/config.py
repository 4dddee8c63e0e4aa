"""Settings of the respond stage that are not the engine's or the model's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SamplingConfig:
    # Sample mode: at most this many tokens per response before giving up on ``>>``.
    max_tokens: int = 16
    temperature: float = 1.0
    # How runs draw their responses: "free" (the model generates each response, which
    # may lie off the option set) or "options" (each run draws one option per choice
    # point from the option probabilities of the score pass; experiments whose options
    # are single tokens only). Different estimands: study.respond.option_samples.
    mode: str = "free"
