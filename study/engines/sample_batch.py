"""Sampling one choice point for a group of runs, their tokens decoded side by side.

With flash attention on (study.engines.llama_runtime), a row of a batch of
:data:`SAMPLE_ROWS` to 63 rows gets the same logits whichever other rows share the batch
and whatever other sequences hold in the cache. So the runs of a group are sampled
breadth first: each run has a sequence of its own that shares the context's cells, and
at every depth the distinct prefixes that are not finished (runs that drew the same
tokens so far share one) are decoded as one batch, one row per prefix, in the sequences
of its runs. A group of R runs costs one decode per depth, not one per run and token;
a run alone is a group of one, its row padded to :data:`SAMPLE_ROWS` with filler rows,
so its tokens are the same bits alone or in a group (tests/engines/test_llamacpp_grouped.py).
Fewer decodes are not less work: every row still needs its own logits and distribution,
and the fillers cost rows; measured with Gemma 3 270M, no CPU time saved over
study.engines.sample_tree (docs/sections/engines.md).

Draws and stopping are those of study.engines.sample_tree (each run its own stream).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from study.engines.draws import TokenDistribution
from study.engines.llama_runtime import EXTRA_CELLS, SAMPLE_ROWS, SCRATCH
from study.engines.rolling import RollingContext


def runs_at_once(max_tokens: int) -> int:
    """How many runs are sampled together: their sampled tokens must fit the cache's
    extra cells, and their rows one batch under MIN_ROWS (the kernel of 8 to 63 rows).

    >>> runs_at_once(16), runs_at_once(64), runs_at_once(10_000)
    (62, 16, 1)
    """
    return max(1, min(SCRATCH - 1, (EXTRA_CELLS - SAMPLE_ROWS) // max(1, max_tokens)))


def sample_choice_point_batched(
    rolling: RollingContext,
    streams: Sequence[np.random.Generator],
    *,
    max_tokens: int,
    temperature: float,
    stop: bytes,
) -> list[bytes]:
    """Each run's response (bytes before ``stop``) after the context evaluated so far
    (sequence 0); the cache holds that context alone afterwards."""
    runtime = rolling.runtime
    texts = [b""] * len(streams)
    first = TokenDistribution(runtime.logits(rolling.last_index), temperature)
    chunk = runs_at_once(max_tokens)
    for offset in range(0, len(streams), chunk):
        runs = list(range(offset, min(len(streams), offset + chunk)))
        seq = {run: 1 + i for i, run in enumerate(runs)}
        for run in runs:
            runtime.share_sequence(seq[run])
        # The unfinished prefixes: (next-token distribution, their runs, text so far).
        frontier: list[tuple[TokenDistribution, list[int], bytes]] = [(first, runs, b"")]
        position = rolling.n_cached
        depth = 0
        while frontier:
            depth += 1
            rows: list[tuple[int, list[int], bytes]] = []
            for distribution, members, text in frontier:
                by_token: dict[int, list[int]] = {}
                for run in members:
                    by_token.setdefault(distribution.draw(streams[run]), []).append(run)
                for token, drawn in by_token.items():
                    if runtime.is_end_of_generation(token):
                        _finish(texts, drawn, text, stop)
                        continue
                    extended = text + runtime.piece(token)
                    if stop in extended or depth == max_tokens:
                        _finish(texts, drawn, extended, stop)
                        continue
                    rows.append((token, drawn, extended))
            frontier = []
            if rows:
                runtime.decode_rows(
                    [token for token, _, _ in rows],
                    [position] * len(rows),
                    [[seq[run] for run in drawn] for _, drawn, _ in rows],
                    [True] * len(rows),
                    min_rows=SAMPLE_ROWS,
                )
                rolling.tokens_evaluated += len(rows)
                frontier = [
                    (TokenDistribution(runtime.logits(i), temperature), drawn, extended)
                    for i, (_, drawn, extended) in enumerate(rows)
                ]
            position += 1
        for run in runs:
            runtime.drop_sequence(seq[run])
    return texts


def _finish(texts: list[bytes], runs: list[int], text: bytes, stop: bytes) -> None:
    for run in runs:
        texts[run] = text.split(stop)[0]
