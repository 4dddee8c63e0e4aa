"""Sampling a group of runs from one pass over the transcript, then short branches.

With flash attention on (the default, study.engines.llama_runtime) the transcript is
evaluated exactly as scoring evaluates it: the same batches of at least
:data:`MIN_ROWS` rows, through the same rolling window, with logits kept at every
choice point's rows: its ``<<`` (the last context token) and each of its response
tokens. After each batch, every choice point whose rows that batch produced is sampled
for all the runs at once:

- **Along the transcript.** Every run draws its first token from the ``<<`` row (one
  :class:`TokenDistribution` for all of them). A run that drew the token the human wrote
  next reads the next row of the same pass, which holds the model's distribution after
  exactly that prefix, and so on while it keeps drawing the human's tokens: a run that
  reproduces the human's response to the stop marker costs no evaluation at all.
- **Branches.** A run that drew another token leaves the transcript at that position
  ``q``: it gets a sequence of its own in llama.cpp's unified KV cache that shares the
  transcript's cells of positions before ``q`` only (the transcript's later cells stay
  in the cache, invisible to it), and its tokens are decoded at ``q, q + 1, ...``. Runs
  that drew the same tokens share a row. The branches of every choice point of the
  batch are decoded side by side, breadth first, one row per distinct prefix, in
  batches of :data:`SAMPLE_ROWS` to 63 rows (padded with filler rows) and as many runs
  at once as the cache has sequences and cells for; then their sequences are dropped
  and the next batch of the transcript follows.

Why a run's tokens are the same bits alone or in any group: the transcript's batches
depend on the prompt alone; a branch row is computed by flash attention's
one-row-at-a-time kernel (batches of 2 to 63 rows), which reads the row's visible cells
in cell order and skips the others, so the row's logits depend neither on its
batch-mates nor on the cells of other sequences, the transcript's later positions
included (measured on both models, after 300 and 900 cached tokens, and tested in
tests/engines/test_llamacpp_grouped.py); and every draw of a run at a choice point comes
from a stream of its own, seeded with the run's seed and the choice point's index
(:func:`study.engines.draws.choice_stream`), so the order in which the engine visits
choice points (which depends on how many runs share the batches) changes no draw.

A run stops by the prompt's :class:`~study.engines.stopping.StopRule`: at the stop
marker, after ``max_tokens`` tokens, at an end-of-generation token, and with
``sampling.mode=match`` as soon as it can no longer reproduce the human's response (a
run that leaves the human's response then costs no branch row at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from study.engines.draws import TokenDistribution, choice_stream
from study.engines.llama_runtime import (
    EXTRA_CELLS,
    MIN_ROWS,
    SAMPLE_ROWS,
    SCRATCH,
    LlamaRuntime,
)
from study.engines.rolling import RollingContext
from study.engines.stopping import StopRule


def runs_at_once(max_tokens: int) -> int:
    """How many runs' branches are decoded together (a wave): each needs a sequence of
    its own (1 to SCRATCH - 1), and their cells, at most ``max_tokens`` each, must fit
    the cache's extra cells beside the fillers.

    >>> runs_at_once(16), runs_at_once(64), runs_at_once(10_000)
    (126, 32, 1)
    """
    return max(1, min(SCRATCH - 1, (EXTRA_CELLS - SAMPLE_ROWS) // max(1, max_tokens)))


# Rows of one branch decode: at most this many, so flash attention keeps the kernel of
# SAMPLE_ROWS to MIN_ROWS - 1 rows (a wave's rows of one depth take several decodes).
BRANCH_ROWS = MIN_ROWS - 1


@dataclass
class _Branch:
    """Runs of one choice point that drew the same tokens, the last of them ``token``
    (at cache position ``position``) not yet evaluated."""

    choice: int
    token: int
    position: int
    runs: list[int]
    text: bytes
    depth: int


@dataclass
class _Along:
    """Runs of one choice point that have drawn the human's tokens so far; their next
    distribution is the pass's row ``row`` (a prompt index)."""

    choice: int
    row: int
    runs: list[int]
    text: bytes = b""
    depth: int = 0


@dataclass
class OnePassSampler:
    """The runs of one prompt (seeds ``seeds``) sampled at every choice point
    (``responses``: each one's [start, end) in ``tokens``)."""

    runtime: LlamaRuntime
    tokens: Sequence[int]
    responses: Sequence[tuple[int, int]]
    seeds: Sequence[int]
    rule: StopRule
    temperature: float
    # texts[run][choice]
    texts: list[list[bytes]] = field(init=False)
    # Branch rows evaluated (not filler rows).
    branch_rows: int = field(init=False, default=0)
    _streams: dict[tuple[int, int], np.random.Generator] = field(init=False)
    # Choice points waiting for their first row, in order of it.
    _next_choice: int = field(init=False, default=0)
    _along: list[_Along] = field(init=False)

    def __post_init__(self) -> None:
        self.texts = [[b""] * len(self.responses) for _ in self.seeds]
        self._streams = {}
        self._along = []

    def outputs(self) -> list[bool]:
        """The prompt tokens whose logits the pass must keep: each choice point's
        ``<<`` and response tokens."""
        flags = [False] * len(self.tokens)
        for start, end in self.responses:
            for index in range(start - 1, end):
                flags[index] = True
        return flags

    def run(self, rolling: RollingContext) -> None:
        rolling.append(self.tokens, self.outputs(), on_batch=self._after_batch)
        if self._along or self._next_choice < len(self.responses):  # pragma: no cover
            raise AssertionError("choice points left unsampled after the pass")

    # -- after each batch of the pass ------------------------------------------------

    def _after_batch(self, first: int, end: int, position: int) -> None:
        """Sample what the batch of prompt tokens [first, end), the first at cache
        position ``position``, makes possible; its logits are still in place."""
        while self._next_choice < len(self.responses):
            start = self.responses[self._next_choice][0]
            if start - 1 >= end:
                break
            self._along.append(_Along(self._next_choice, start - 1, list(range(len(self.seeds)))))
            self._next_choice += 1
        branches: list[_Branch] = []
        waiting: list[_Along] = []
        for along in self._along:
            while along.runs and along.row < end:
                logits = self.runtime.logits(along.row - first)
                distribution = TokenDistribution(logits, self.temperature)
                depth = along.depth + 1
                _, response_end = self.responses[along.choice]
                following: _Along | None = None
                for token, runs, text in self._draw(distribution, along, depth):
                    index = along.row + 1
                    if index < response_end and token == self.tokens[index]:
                        following = _Along(along.choice, index, runs, text, depth)
                    else:
                        where = position + index - first
                        branches.append(_Branch(along.choice, token, where, runs, text, depth))
                if following is None:
                    along.runs = []
                else:
                    along = following
            if along.runs:
                waiting.append(along)
        self._along = waiting
        self._decode_branches(branches)

    def _draw(
        self, distribution: TokenDistribution, node: _Along | _Branch, depth: int
    ) -> list[tuple[int, list[int], bytes]]:
        """Each run of ``node`` draws its next token (its depth-th) from
        ``distribution``; finished runs get their text; the unfinished ones come back
        grouped by token, in order of first draw."""
        by_token: dict[int, list[int]] = {}
        for run in node.runs:
            stream = self._stream(run, node.choice)
            by_token.setdefault(distribution.draw(stream), []).append(run)
        unfinished = []
        for token, runs in by_token.items():
            if self.runtime.is_end_of_generation(token):
                self._finish(node.choice, runs, node.text)
                continue
            text = node.text + self.runtime.piece(token)
            if self.rule.finished(node.choice, text, depth):
                self._finish(node.choice, runs, text)
                continue
            unfinished.append((token, runs, text))
        return unfinished

    def _stream(self, run: int, choice: int) -> np.random.Generator:
        key = (run, choice)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = choice_stream(self.seeds[run], choice)
        return stream

    def _finish(self, choice: int, runs: list[int], text: bytes) -> None:
        for run in runs:
            self.texts[run][choice] = self.rule.response(text)
            self._streams.pop((run, choice), None)

    # -- branches ---------------------------------------------------------------------

    def _decode_branches(self, branches: list[_Branch]) -> None:
        capacity = runs_at_once(self.rule.max_tokens)
        wave: list[_Branch] = []
        used = 0
        for branch in branches:
            for offset in range(0, len(branch.runs), capacity):
                runs = branch.runs[offset : offset + capacity]
                if used + len(runs) > capacity:
                    self._wave(wave)
                    wave, used = [], 0
                wave.append(replace(branch, runs=runs))
                used += len(runs)
        if wave:
            self._wave(wave)

    def _wave(self, wave: list[_Branch]) -> None:
        """Decode the branches of ``wave`` to their ends, breadth first; each run in a
        sequence of its own that sees the transcript before its branch's position."""
        runtime = self.runtime
        sequences: dict[tuple[int, int], int] = {}
        for branch in wave:
            for run in branch.runs:
                seq = 1 + len(sequences)
                sequences[(branch.choice, run)] = seq
                runtime.share_prefix(seq, branch.position)
        frontier = wave
        while frontier:
            children: list[_Branch] = []
            for offset in range(0, len(frontier), BRANCH_ROWS):
                rows = frontier[offset : offset + BRANCH_ROWS]
                runtime.decode_rows(
                    [branch.token for branch in rows],
                    [branch.position for branch in rows],
                    [[sequences[(b.choice, run)] for run in b.runs] for b in rows],
                    [True] * len(rows),
                    min_rows=SAMPLE_ROWS,
                )
                self.branch_rows += len(rows)
                for row, branch in enumerate(rows):
                    distribution = TokenDistribution(runtime.logits(row), self.temperature)
                    depth = branch.depth + 1
                    for token, runs, text in self._draw(distribution, branch, depth):
                        children.append(
                            _Branch(branch.choice, token, branch.position + 1, runs, text, depth)
                        )
            frontier = children
        for seq in range(1, 1 + len(sequences)):
            runtime.drop_sequence(seq)


def sample_in_one_pass(
    rolling: RollingContext,
    tokens: Sequence[int],
    responses: Sequence[tuple[int, int]],
    seeds: Sequence[int],
    *,
    rule: StopRule,
    temperature: float,
) -> list[list[bytes]]:
    """Each run's response (bytes before the stop marker) at every choice point:
    ``texts[run][choice]``; the pass and the branches' rows are counted in
    ``rolling.tokens_evaluated``."""
    sampler = OnePassSampler(rolling.runtime, tokens, responses, seeds, rule, temperature)
    sampler.run(rolling)
    rolling.tokens_evaluated += sampler.branch_rows
    return sampler.texts
