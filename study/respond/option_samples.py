"""``sampling.mode=options``: each run's responses drawn from the option distribution of
one scoring pass, instead of generated freely.

Where every option is a single token, the score pass already holds, at each choice point,
the model's probability of each option normalised over the option set. A run then draws
one option per choice point from those probabilities with its own stream (its seed, as
in free sampling), in option order by inverse CDF. Runs cost nothing beyond the one
scoring pass per (person, persona).

This is a different estimand from free generation: a freely generated response may lie
off the option set (another word, a malformed answer), which counts as a mismatch there
and cannot happen here, so run variance and match rates differ between the two modes.
The mode is recorded in ``samples.parquet`` (``sampling_mode``) and in the C1 report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from study.engines.base import Engine, SampleResult, ScoreResult
from study.engines.draws import run_stream
from study.errors import ConfigError
from study.personas import RenderedPrompt
from study.respond.plan import Job

MODES = ("free", "match", "options")
# Modes whose runs the engine generates (options: drawn from the score pass).
GENERATED = ("free", "match")


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(f"sampling.mode must be one of {list(MODES)}, got {mode!r}")


def check_single_token_options(
    prompts: Sequence[RenderedPrompt],
    options: Callable[[RenderedPrompt], tuple[str, ...] | None],
    engine: Engine,
) -> None:
    """Refuse ``sampling.mode=options`` for an experiment without an option set or with
    an option of more than one token (for this engine's tokenizer), naming both."""
    empty = engine.count_tokens("")  # a BOS, for tokenizers that add one
    checked: set[tuple[str, str]] = set()
    for prompt in prompts:
        option_set = options(prompt)
        if option_set is None:
            raise ConfigError(
                f"sampling.mode=options: experiment {prompt.experiment} has no option set "
                "(it is not a discrete choice); use sampling.mode=free"
            )
        for option in option_set:
            if (prompt.experiment, option) in checked:
                continue
            checked.add((prompt.experiment, option))
            count = engine.count_tokens(option) - empty
            if count != 1:
                raise ConfigError(
                    f"sampling.mode=options needs options of one token each: experiment "
                    f"{prompt.experiment}, option {option!r} takes {count} tokens; use "
                    "sampling.mode=free"
                )


def draw_option(probabilities: Mapping[str, float], uniform: float, temperature: float) -> str:
    """The option drawn by ``uniform`` (in [0, 1)) at ``temperature``: weights
    ``p ** (1 / T)`` (the option probabilities are the model's at temperature 1), the
    first option whose running weight, in the mapping's order, exceeds ``uniform`` times
    the total; at temperature 0 the most probable option (the first of equals).

    >>> probs = {"L": 0.25, "R": 0.75}
    >>> draw_option(probs, 0.2, 1.0), draw_option(probs, 0.3, 1.0), draw_option(probs, 0.2, 0.0)
    ('L', 'R', 'R')
    """
    if temperature <= 0.0:
        return max(probabilities, key=lambda option: probabilities[option])
    weights = [p ** (1.0 / temperature) for p in probabilities.values()]
    target = uniform * math.fsum(weights)
    running = 0.0
    for option, weight in zip(probabilities, weights, strict=True):
        running += weight
        if target < running:
            return option
    return next(reversed(list(probabilities)))  # float edge: u * total rounded up


def option_samples(
    sample_jobs: Sequence[Job[Any]],
    score_jobs: Sequence[Job[Any]],
    scores: Mapping[str, ScoreResult],
) -> dict[str, SampleResult]:
    """Each sample job's result drawn from its prompt's score result (same prompt, same
    persona), keyed as the job."""
    by_prompt = {_prompt_of(job): scores[job.key] for job in score_jobs}
    results: dict[str, SampleResult] = {}
    for job in sample_jobs:
        score = by_prompt[_prompt_of(job)]
        if score.option_probs is None:
            raise ConfigError(
                f"sampling.mode=options: the score of {job.rendered.experiment} participant "
                f"{job.rendered.participant} has no option probabilities"
            )
        assert job.seed is not None
        stream = run_stream(job.seed)
        temperature = job.request.temperature  # type: ignore[union-attr]
        responses = tuple(
            draw_option(probs, stream.random(), temperature) for probs in score.option_probs
        )
        results[job.key] = SampleResult(
            responses=responses, tokens_evaluated=0, prompt_tokens=score.prompt_tokens
        )
    return results


def _prompt_of(job: Job[Any]) -> tuple[str, str, int, str]:
    rendered = job.rendered
    return (rendered.experiment, rendered.participant, rendered.session, rendered.persona)
