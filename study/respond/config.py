"""Settings of the respond stage that are not the engine's or the model's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SamplingConfig:
    # Sample mode: at most this many tokens per response before giving up on ``>>``.
    max_tokens: int = 16
    temperature: float = 1.0
    # How runs draw their responses: "free" (the model generates each response, which
    # may lie off the option set), "match" (free generation, stopped as soon as a run
    # can no longer reproduce the human's response: the same match for every run as
    # free, its text cut where it missed; study.engines.stopping) or "options" (each
    # run draws one option per choice point from the option probabilities of the score
    # pass; experiments whose options are single tokens only). "options" is a different
    # estimand: study.respond.option_samples.
    mode: str = "free"
