"""Sampling one choice point for a group of runs: shared evaluations, own draws.

Every run of a group reads the same context up to the choice point's ``<<``, so the
first token's distribution is computed once and each run draws from it with its own
stream (study.engines.draws). Runs that have drawn the same tokens so far have the same
next-token distribution too, so the runs' continuations form a tree of token prefixes.
The tree is walked depth first: a node is one one-token decode after its parent's
tokens, its children are explored, and the cache is rolled back to the parent before
the next sibling. A run alone walks exactly its own path of that tree: the same decodes
at the same cache cells after the same context, and the same draws from its own stream
in the same order, so its tokens are the same bits whether it is sampled alone or in a
group of any size. A group costs one decode per distinct sampled prefix, not one per
run and token.

A run stops as a run alone stops, by the prompt's
:class:`~study.engines.stopping.StopRule` (the stop marker, ``max_tokens``, an
end-of-generation token, and with ``sampling.mode=match`` a mismatch with the human's
response).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from study.engines.draws import TokenDistribution
from study.engines.rolling import RollingContext
from study.engines.stopping import StopRule


@dataclass
class _ChoicePoint:
    rolling: RollingContext
    streams: Sequence[np.random.Generator]
    rule: StopRule
    choice: int
    temperature: float
    texts: list[bytes]

    def expand(self, distribution: TokenDistribution, runs: list[int], text: bytes) -> None:
        """Draw the next token of each of ``runs`` (which share the prefix ``text``) and
        continue every distinct prefix that is not finished."""
        runtime = self.rolling.runtime
        depth = self.rolling.generated + 1
        by_token: dict[int, list[int]] = {}
        for run in runs:
            by_token.setdefault(distribution.draw(self.streams[run]), []).append(run)
        for token, members in by_token.items():
            if runtime.is_end_of_generation(token):
                self._finish(members, text)
                continue
            extended = text + runtime.piece(token)
            if self.rule.finished(self.choice, extended, depth):
                self._finish(members, extended)
                continue
            self.rolling.push(token)
            after = TokenDistribution(runtime.logits(self.rolling.last_index), self.temperature)
            self.expand(after, members, extended)
            self.rolling.pop()

    def _finish(self, runs: list[int], text: bytes) -> None:
        for run in runs:
            self.texts[run] = self.rule.response(text)


def sample_choice_point(
    rolling: RollingContext,
    streams: Sequence[np.random.Generator],
    *,
    rule: StopRule,
    choice: int,
    temperature: float,
) -> list[bytes]:
    """Each run's response (bytes before the stop marker) at choice point ``choice``,
    after the context evaluated so far; the cache is back at that context afterwards."""
    point = _ChoicePoint(rolling, streams, rule, choice, temperature, [b""] * len(streams))
    first = TokenDistribution(rolling.runtime.logits(rolling.last_index), temperature)
    point.expand(first, list(range(len(streams))), b"")
    return point.texts
