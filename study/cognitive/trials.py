"""A participant's choices as a cognitive model reads them: what was offered, what was
chosen, and what the configured text patterns say about each trial.

Each choice has two pieces of surrounding text: the trial text *before* it (from the
previous choice's ``>>``, or the transcript's start, to its ``<<``) and the outcome
text *after* it (from its ``>>`` to the next ``<<``, or the transcript's end). A
configured pattern that does not match where it must is an input error naming the file,
line, participant and choice, never a silent default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from study.cognitive.config import ExperimentModelConfig
from study.errors import StudyInputError
from study.records import Participant


@dataclass(frozen=True)
class Trials:
    """Choices ready for a model.

    ``offered[i]`` are the options of choice ``i`` and ``chosen[i]`` indexes into it;
    ``rewards[i]`` (q_learning) is 1.0 or 0.0, ``blocks[i]`` (q_learning, optional) the
    trial's block label.
    """

    offered: tuple[tuple[str, ...], ...]
    chosen: np.ndarray
    rewards: np.ndarray | None = None
    blocks: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.offered)

    def head(self, k: int) -> Trials:
        """The first ``k`` trials."""
        return Trials(
            self.offered[:k],
            self.chosen[:k],
            None if self.rewards is None else self.rewards[:k],
            None if self.blocks is None else self.blocks[:k],
        )


def before(participant: Participant, i: int) -> str:
    """The trial text before choice ``i``."""
    start = participant.choices[i - 1].end + 2 if i > 0 else 0
    return participant.transcript[start : participant.choices[i].marker_start]


def after(participant: Participant, i: int) -> str:
    """The outcome text after choice ``i``."""
    choices = participant.choices
    end = choices[i + 1].marker_start if i + 1 < len(choices) else len(participant.transcript)
    return participant.transcript[choices[i].end + 2 : end]


def _error(participant: Participant, i: int, message: str) -> StudyInputError:
    return StudyInputError(
        f"choice {i} ({participant.choices[i].response!r}): {message}",
        file=participant.source,
        line=participant.line,
        participant=participant.participant,
        field="text",
    )


def _required(pattern: str | None, key: str, participant: Participant) -> re.Pattern[str]:
    if not pattern:
        raise StudyInputError(
            f"the cognitive model of experiment {participant.experiment!r} needs "
            f"cognitive.experiments.{participant.experiment}.{key}",
            file=participant.source,
            line=participant.line,
            participant=participant.participant,
            field=key,
        )
    return re.compile(pattern)


def _group(match: re.Match[str]) -> str:
    return match.group(1) if match.re.groups else match.group(0)


def option_trials(participant: Participant, options: tuple[str, ...]) -> Trials:
    """Every choice offers the same ``options``; a response outside them is an error."""
    position = {option: j for j, option in enumerate(options)}
    chosen = []
    for i, choice in enumerate(participant.choices):
        if choice.response not in position:
            raise _error(participant, i, f"response is not one of the options {options}")
        chosen.append(position[choice.response])
    return Trials((options,) * len(chosen), np.asarray(chosen, dtype=np.int64))


def bandit_trials(
    participant: Participant, options: tuple[str, ...], patterns: ExperimentModelConfig
) -> Trials:
    """:func:`option_trials` with each choice's reward (exactly one of the reward and
    no-reward patterns must match its outcome text; the last choice's outcome is read
    too, so a truncated transcript is caught) and, when configured, its block label."""
    base = option_trials(participant, options)
    reward = _required(patterns.reward_pattern, "reward_pattern", participant)
    nothing = _required(patterns.no_reward_pattern, "no_reward_pattern", participant)
    block = re.compile(patterns.block_pattern) if patterns.block_pattern else None
    rewards, blocks = [], []
    for i in range(len(base)):
        text = after(participant, i)
        found = (reward.search(text) is not None, nothing.search(text) is not None)
        if found == (False, False) or found == (True, True):
            which = "neither" if found[0] is False else "both"
            raise _error(
                participant,
                i,
                f"outcome text {text[:80]!r} matches {which} of reward_pattern "
                f"{reward.pattern!r} and no_reward_pattern {nothing.pattern!r}",
            )
        rewards.append(1.0 if found[0] else 0.0)
        if block is not None:
            match = block.search(before(participant, i))
            if match is None:
                raise _error(participant, i, f"no block_pattern {block.pattern!r} before it")
            blocks.append(_group(match))
    return Trials(base.offered, base.chosen, np.asarray(rewards), tuple(blocks) if block else None)


def deck_trials(participant: Participant, patterns: ExperimentModelConfig) -> Trials:
    """Each choice offers (majority letter, minority letter), read from its trial text;
    ``chosen`` is 0 for the majority letter and 1 for the minority letter."""
    majority = _required(patterns.majority_pattern, "majority_pattern", participant)
    minority = _required(patterns.minority_pattern, "minority_pattern", participant)
    offered, chosen = [], []
    for i, choice in enumerate(participant.choices):
        text = before(participant, i)
        pair = []
        for name, pattern in (("majority_pattern", majority), ("minority_pattern", minority)):
            match = pattern.search(text)
            if match is None:
                raise _error(participant, i, f"{name} {pattern.pattern!r} matches no trial text")
            pair.append(_group(match))
        if pair[0] == pair[1] or choice.response not in pair:
            raise _error(
                participant,
                i,
                f"response must be the majority letter {pair[0]!r} or the minority "
                f"letter {pair[1]!r}, and the two must differ",
            )
        offered.append((pair[0], pair[1]))
        chosen.append(pair.index(choice.response))
    return Trials(tuple(offered), np.asarray(chosen, dtype=np.int64))
