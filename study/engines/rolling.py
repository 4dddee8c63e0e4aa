"""A KV cache that streams a prompt longer than the model's context window.

Tokens are appended in batches; logits are read only where asked. While the prompt fits
the context window this is plain one-pass evaluation. When the next batch would not
fit, the cache is rebuilt from the prompt's *head* (its first piece: persona preamble,
chat framing and task instructions, capped at a quarter of the window) followed by the
most recent half-window of history; the tokens in between are dropped, so a late choice
point is predicted from the instructions, the persona and the recent trials. Positions
stay contiguous (head, then the kept history), as if the dropped trials had never been
in the transcript. Every rebuild re-evaluates the kept tokens: for a prompt of N tokens
and a window of W, about N / (W/2) rebuilds of W/2 tokens each.

Every batch has at least ``min_rows`` rows (filler rows make up a short one, see
study.engines.llama_runtime): scoring's :data:`MIN_ROWS`, so a short prompt or context
takes the kernels of a long one.

Why not shift the cache instead of rebuilding: with sliding-window attention (Gemma 3)
the shifted cells would carry attention computed over the dropped tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from study.engines.llama_runtime import MIN_ROWS, LlamaRuntime, split

# Called with (index of the token in the prompt, that token's logits).
LogitsSink = Callable[[int, np.ndarray], None]
# Called after each batch with (index of its first token in the prompt, index after its
# last, cache position of its first token), while the batch's logits are in place.
BatchHook = Callable[[int, int, int], None]


class RollingContext:
    def __init__(
        self, runtime: LlamaRuntime, head: Sequence[int], *, min_rows: int = MIN_ROWS
    ) -> None:
        self.runtime = runtime
        self.min_rows = min_rows
        self.head = list(head[: runtime.n_ctx // 4])
        self.history: list[int] = []
        # Cache positions in use (head plus the kept part of the history).
        self.n_cached = 0
        # History tokens not in the cache (between the head and the kept part).
        self.dropped = 0
        self.tokens_evaluated = 0
        # Batch index (in the last decode) of the newest token, for sampling from it.
        self.last_index = -1
        # Cache positions of the sampled tokens on top of the context, to roll back to.
        self._pushed: list[int] = []
        runtime.clear()

    def append(
        self,
        tokens: Sequence[int],
        outputs: Sequence[bool],
        sink: LogitsSink | None = None,
        *,
        reserve: int = 0,
        on_batch: BatchHook | None = None,
    ) -> None:
        """Evaluate ``tokens`` after everything so far; hand the logits of flagged
        tokens to ``sink``, then call ``on_batch`` after each batch. ``reserve`` keeps
        that many cache slots free after the last batch (room to generate from it)."""
        runtime = self.runtime
        step = runtime.n_batch
        if len(self.history) + len(tokens) + reserve > runtime.n_ctx:
            # It will not all fit: batches small enough that a rebuilt window still
            # holds half a window of history before each of them, but not so small that
            # split() makes batches under MIN_ROWS (their logits would differ in the
            # last bits from the same tokens' in a larger batch).
            quarter = (runtime.n_ctx - len(self.head)) // 4
            step = min(step, max(2 * MIN_ROWS, quarter))
        batches = split(len(tokens), step)
        for start, end in batches:
            room = end - start + (reserve if end == len(tokens) else 0)
            if self.n_cached + room > runtime.n_ctx:
                self._rebuild(room)
            chunk = tokens[start:end]
            flags = outputs[start:end]
            position = self.n_cached
            self._decode(chunk, flags, self.min_rows)
            if sink is not None:
                base = len(self.history)
                for i, flagged in enumerate(flags):
                    if flagged:
                        sink(base + i, runtime.logits(i))
            self.history.extend(chunk)
            if on_batch is not None:
                on_batch(start, end, position)

    def _decode(self, tokens: Sequence[int], outputs: Sequence[bool], min_rows: int) -> None:
        self.runtime.decode(tokens, self.n_cached, outputs, min_rows=min_rows)
        self.n_cached += len(tokens)
        self.tokens_evaluated += len(tokens)
        self.last_index = len(tokens) - 1

    def _rebuild(self, room: int) -> None:
        runtime = self.runtime
        budget = runtime.n_ctx - len(self.head)
        keep = min(budget // 2, budget - room, len(self.history) - len(self.head))
        if keep < 1:
            raise ValueError(
                f"context window of {runtime.n_ctx} tokens too small for a head of "
                f"{len(self.head)} and a batch of {room}"
            )
        runtime.clear()
        self.n_cached = 0
        # Head and kept history in one sequence of batches, so a short head is not a
        # batch of its own (under MIN_ROWS rows) and the rebuilt window's cache equals
        # that of a prompt made of the same tokens.
        window = self.head + self.history[len(self.history) - keep :]
        for start, end in split(len(window), runtime.n_batch):
            self._decode(window[start:end], [False] * (end - start), self.min_rows)
        self.dropped = len(self.history) - keep - len(self.head)

    @property
    def generated(self) -> int:
        """Sampled tokens on top of the context (pushed and not yet popped)."""
        return len(self._pushed)

    def push(self, token: int) -> None:
        """Evaluate one sampled token after everything so far, with its logits (room
        for it was reserved by the last :meth:`append`)."""
        self._pushed.append(self.n_cached)
        self._decode([token], [True], 1)

    def pop(self) -> None:
        """Roll the cache back to before the last :meth:`push`."""
        position = self._pushed.pop()
        self.runtime.truncate(position)
        self.n_cached = position
