"""Shared helpers: the C4 prompts of a small slice of the shipped data, as the command
line's configs build them, and synthetic persons."""

from __future__ import annotations

import functools

from study.data.options import options_for
from study.hosting.config import HostingConfig
from study.hosting.prompts import hosted_prompts
from study.hosting.records import HostedPrompt
from study.personas.config import PreambleConfig
from study.records import ChoicePoint, Participant
from tests.personas.helpers import composed, shipped

EXPERIMENTS = ("busch2024_stroop", "dezfouli2019", "thoma2025riskychoice")


@functools.cache
def configs() -> tuple[HostingConfig, PreambleConfig]:
    """The default hosting config and the paper's preamble, as composed from conf/."""
    cfg = composed()
    return cfg.hosting, cfg.preamble


@functools.cache
def slice_people(limit: int = 8) -> tuple[Participant, ...]:
    return tuple(p for e in EXPERIMENTS for p in shipped(e, limit))


@functools.cache
def slice_prompts(limit: int = 8, seed: int = 0) -> tuple[HostedPrompt, ...]:
    """Every hosted prompt of the first ``limit`` persons of each shipped experiment."""
    hosting, preamble = configs()
    return tuple(
        hosted_prompts(slice_people(limit), hosting, preamble, seed=seed, options=options_for)
    )


def by_id(people) -> dict[tuple[str, str], Participant]:
    """(experiment, participant) -> the person's first session."""
    return {p.person: p for p in people if p.session == 0}


def made_up(pid: str, responses: list[str], experiment: str = "exp", **profile) -> Participant:
    """A participant whose trial k reads ``Outcome. Trial k: press <<R>>`` (trial 0 opens
    with instructions), ending in a closing outcome."""
    text, choices = "Instructions.\n", []
    for k, response in enumerate(responses):
        text += f"{'Outcome. ' if k else ''}Trial {k}: press <<"
        start = len(text)
        choices.append(ChoicePoint(experiment, pid, k, response, start, start + len(response)))
        text += f"{response}>>\n"
    text += "Done."
    return Participant(experiment, pid, text, profile=profile, choices=tuple(choices))
