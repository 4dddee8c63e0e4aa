"""From participants and persona conditions to keyed engine requests.

A *job* is one engine request with everything needed to store it and to turn its result
into output rows: the rendered prompt (who, which persona), the mode, and for samples the
run and its seed. The store key of a job is the content hash of its request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from study.engines.base import SampleRequest, ScoreRequest
from study.engines.seeds import run_seed
from study.personas import RenderedPrompt
from study.respond.config import SamplingConfig
from study.store import request_key


class Prompt(Protocol):
    """What the store and the progress bar need of a job's prompt: whose transcript it
    is. A RenderedPrompt (persona conditions) and a HostedPrompt (C4) both are."""

    @property
    def experiment(self) -> str: ...
    @property
    def participant(self) -> str: ...
    @property
    def session(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Job[P: Prompt]:
    # The prompt the request was built from: a RenderedPrompt for the persona
    # conditions, a HostedPrompt for C4's designs.
    rendered: P
    mode: str  # "score" or "sample"
    request: ScoreRequest | SampleRequest
    key: str
    run: int | None = None
    seed: int | None = None


def model_identity(fingerprint: Mapping[str, str]) -> str:
    """What names the model in run seeds: its file's sha256, or its name without one."""
    return fingerprint.get("model_sha256") or fingerprint.get("model", "")


def plan_jobs(
    prompts: Sequence[RenderedPrompt],
    options: Callable[[RenderedPrompt], tuple[str, ...] | None],
    fingerprint: Mapping[str, str],
    runs: int,
    sampling: SamplingConfig,
    *,
    seed: int,
) -> tuple[list[Job[RenderedPrompt]], list[Job[RenderedPrompt]]]:
    """Score jobs (one per prompt) and sample jobs (``runs`` per prompt); ``seed`` is the
    config's seed, one of the parts of every run's seed (:func:`run_seed`)."""
    model = model_identity(fingerprint)
    scores: list[Job[RenderedPrompt]] = []
    samples: list[Job[RenderedPrompt]] = []
    for rendered in prompts:
        option_set = options(rendered)
        per_choice = None if option_set is None else (option_set,) * len(rendered.spans)
        tags = (
            ("experiment", rendered.experiment),
            ("participant", rendered.participant),
            ("session", str(rendered.session)),
            ("persona", rendered.persona),
        )
        score = ScoreRequest(
            prompt=rendered.prompt,
            spans=rendered.spans,
            options=per_choice,
            tags=tags,
            template_chars=rendered.template_chars,
        )
        scores.append(Job(rendered, "score", score, request_key(fingerprint, "score", score)))
        for run in range(runs):
            sample_seed = run_seed(
                model,
                rendered.experiment,
                rendered.participant,
                rendered.persona,
                run,
                config_seed=seed,
                session=rendered.session,
            )
            sample = SampleRequest(
                prompt=rendered.prompt,
                spans=rendered.spans,
                seed=sample_seed,
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                options=per_choice,
                stop_at_mismatch=sampling.mode == "match",
                tags=tags,
                template_chars=rendered.template_chars,
            )
            key = request_key(fingerprint, "sample", sample)
            samples.append(Job(rendered, "sample", sample, key, run=run, seed=sample_seed))
    return scores, samples
