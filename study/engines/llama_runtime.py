"""A thin layer over llama-cpp-python's low-level (C API) bindings.

The high-level ``llama_cpp.Llama`` class asks for logits either at every position or at
the last one only; scoring needs them at exactly the positions that predict a response
token (Gemma 3's vocabulary has 262,144 entries: copying logits everywhere halves the
speed). So this module drives ``llama_decode`` with its own batch, whose per-token
``logits`` flags request outputs where they are needed, and exposes the KV-cache
operations that sampling uses to roll back to a prefix.

The prompt is sequence 0. Grouped sampling gives each run a sequence of its own that
shares the prompt's cache cells (llama.cpp's unified KV cache: a cell may belong to
several sequences, and a row of a batch attends only to cells of its own sequences), so
the runs' sampled tokens are decoded together, one row per run. ``swa_full`` is on:
models with sliding-window attention (Gemma 3) otherwise evict cache cells that a
rollback needs again.

Filler rows. A batch smaller than a kernel's threshold can be padded with filler rows in
:data:`SCRATCH`, a sequence no real row can see, whose cells are dropped right after
the decode: a real row's logits depend only on the rows and cells it attends to and on
which kernels the batch's size selects, so padding a small batch makes llama.cpp use
the kernels of a larger one (see below), at the cost of the fillers' evaluation.

Batch invariance. By default llama.cpp's CPU backend repacks quantized weights for
faster multi-row kernels, which makes a token's logits depend on which other tokens
share its batch (measured with Gemma 3 270M: up to 0.004 nats on a likely token and 0.04
on a response's NLL). With ``batch_invariant`` (the default) repacking is off, and a
token's logits are bit-identical however the prompt is cut into batches, as long as
each batch has at least :data:`MIN_ROWS` tokens (smaller batches take other kernels);
:func:`split` plans batches that way. That is what makes one-pass scoring equal
per-choice scoring and the cache independent of batch layout.

Flash attention (``flash_attn``, on by default) keeps that
invariance from :data:`MIN_ROWS` rows and no lower. Measured with llama-cpp-python
0.3.36 on the project's 2-core x86 machine, both CPU models, the logits of 300 rows
after a 300-token prefix against the same rows in one 512-row batch:

- flash attention off: bit-identical in batches from 8 rows (Gemma 3 270M) or 2 rows
  (SmolLM2-135M); one-token batches differ (up to 3.1 on some logit);
- flash attention on: bit-identical in batches from 64 rows; batches of 1 to 63 rows
  take another attention kernel and differ (up to 27 on some logit with Gemma, 1.4 with
  SmolLM2; up to 0.5 nats on the next token's log-probability). A one-token batch after
  256 or more cached tokens also depends on the thread count (up to 2.2 on some
  logit between 1 and 4 threads), so samples do; batches of 2 or more rows do not.

Batches of 2 to 63 rows, which all take flash attention's one-row-at-a-time kernel,
give the same bits as one another (both models, after 100 and 1,290 cached tokens, 1 and
2 threads; one-row batches differ after 256 or more cached tokens) once every matrix
product takes the same kernel whatever its row count: ggml's tiled K-quant matmul is
used for 8 rows or more and its vector kernel below that, which made Gemma's batches of
2 to 7 rows differ from larger ones, and made a token's logits depend on how many rows
of its batch request logits (llama.cpp computes the last layer's feed-forward for those
rows only: 1 to 7 such rows against 8 or more changed 262,063 of Gemma's 262,144 logits
by up to 0.0026 at a row 1,291 tokens in). Importing this module therefore sets
``GGML_CPU_TILED_MM_FORCE=1`` (read once per process by ggml, at its first matrix
product): the tiled kernel at every row count, after which a token's logits no longer
depend on how many logits its batch requests (1 to 13 requested rows give the same bits).
Flash attention's kernel for up to 63 rows reads a row's visible cells one after
another in cell order and skips the others, so a row's logits do not depend on what
other sequences hold in the cache.

So every batch the engine makes is padded: scoring batches to at least :data:`MIN_ROWS`
rows, which makes one pass equal per-choice scoring bit for bit at every choice point,
the prompt's first 64 tokens included (tests/engines/test_llamacpp.py; the fillers cost
at most 63 rows, only on prompts or contexts under 64 tokens), and, with flash attention
on, sampling's branch batches to at least :data:`SAMPLE_ROWS` rows, so no decode depends
on the thread count and a run's sampled tokens are the same bits decoded alone or beside
other runs (study.engines.sample_pass). Between the two settings, scores differ as between
any two kernels: up to 0.54 nats per choice point (mean 0.04) on dezfouli2019's first
transcript cut to 32,768 characters, Gemma. Flash attention scores that transcript 1.6
times as fast, the whole one (19,865 tokens) twice as fast (docs/sections/engines.md).
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import llama_cpp
import numpy as np

# ggml's tiled K-quant matrix product at every row count (see above); ggml reads this
# once, at the process's first matrix product, so it is set before any model runs.
os.environ["GGML_CPU_TILED_MM_FORCE"] = "1"

# llama-cpp-python prints every llama.cpp log line to stderr unless its logger's level
# says otherwise; keep errors only.
logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)


# Batches of at least this many tokens give bit-identical logits with flash attention
# on or off (see above: invariant from 8 rows with it off, 64 with it on).
MIN_ROWS = 64
# With flash attention on, batches of this many to MIN_ROWS - 1 rows give bit-identical
# logits (the one-row-at-a-time attention kernel, and the tiled matmul forced above);
# sampling's branch batches are padded to it.
SAMPLE_ROWS = 2
# Sequences: 0 the prompt, 1 to SCRATCH - 1 sampled runs, SCRATCH filler rows; as many as
# the smallest n_batch allows (llama.cpp reserves an output per sequence within n_batch),
# so that many runs' branches share each decode.
N_SEQ = 2 * MIN_ROWS
SCRATCH = N_SEQ - 1
# Cache cells beyond the context window: filler rows and a group's sampled tokens.
EXTRA_CELLS = 2048 + MIN_ROWS


def split(n_tokens: int, n_batch: int) -> list[tuple[int, int]]:
    """Cut ``n_tokens`` into as few batches of at most ``n_batch`` as possible, of
    near-equal size, so no batch is a small remainder.

    >>> split(1030, 512)
    [(0, 343), (343, 687), (687, 1030)]
    >>> split(10, 512)
    [(0, 10)]
    """
    if n_tokens <= 0:
        return []
    count = -(-n_tokens // n_batch)
    bounds = [round(i * n_tokens / count) for i in range(count + 1)]
    return list(itertools.pairwise(bounds))


class LlamaRuntimeError(RuntimeError):
    """llama.cpp refused an operation (load, decode, cache edit)."""


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class LlamaRuntime:
    """A loaded model with one context (KV cache) and one reusable batch."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int | None,
        n_batch: int,
        n_threads: int | None,
        batch_invariant: bool = True,
        flash_attn: bool = False,
        decode_threads: int | None = None,
    ) -> None:
        llama_cpp.llama_backend_init()
        model_params = llama_cpp.llama_model_default_params()
        if batch_invariant:
            model_params.use_extra_bufts = False
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), model_params)
        if not model:
            raise LlamaRuntimeError(f"llama.cpp could not load the model file {path}")
        self.model = model
        self.vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(llama_cpp.llama_model_n_ctx_train(model))
        self.n_params = int(llama_cpp.llama_model_n_params(model))
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        threads = n_threads or default_threads()
        ctx_params = llama_cpp.llama_context_default_params()
        window = min(n_ctx or self.n_ctx_train, self.n_ctx_train)
        # The window holds the prompt; the cells beyond it, fillers and sampled runs.
        ctx_params.n_ctx = window + EXTRA_CELLS
        ctx_params.n_batch = n_batch
        ctx_params.n_ubatch = n_batch
        ctx_params.n_seq_max = N_SEQ
        ctx_params.kv_unified = True
        # llama.cpp runs one-token batches on n_threads, larger ones on n_threads_batch.
        ctx_params.n_threads = decode_threads or threads
        ctx_params.n_threads_batch = threads
        ctx_params.swa_full = True
        ctx_params.no_perf = True
        ctx_params.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
            if flash_attn
            else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        ctx = llama_cpp.llama_init_from_model(model, ctx_params)
        if not ctx:
            llama_cpp.llama_model_free(model)
            raise LlamaRuntimeError(f"llama.cpp could not create a context for {path}")
        self.ctx = ctx
        # The context window the engine fills (the cache has EXTRA_CELLS more cells).
        self.n_ctx = window
        self.n_batch = n_batch
        self.n_threads = threads
        self.decode_threads = decode_threads or threads
        self.flash_attn = flash_attn
        self.memory = llama_cpp.llama_get_memory(ctx)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, N_SEQ)
        # Filler rows evaluated so far (benchmarks report them beside the real tokens).
        self.filler_rows = 0
        self._closed = False

    # -- tokens ---------------------------------------------------------------------

    def tokenize(self, text: str, *, bos: bool, special: bool = False) -> list[int]:
        """Token ids of ``text``; ``bos`` adds the model's BOS if it uses one;
        ``special`` parses special-token text (chat templates) as special tokens."""
        data = text.encode()
        capacity = len(data) + 8
        buffer = (llama_cpp.llama_token * capacity)()
        count = llama_cpp.llama_tokenize(
            self.vocab, data, len(data), buffer, capacity, bos and self.add_bos, special
        )
        if count < 0:  # pragma: no cover - capacity is always enough
            raise LlamaRuntimeError(f"tokenizer needed {-count} slots, had {capacity}")
        return list(buffer[:count])

    def piece(self, token: int) -> bytes:
        """The bytes token ``token`` stands for (special tokens as their text)."""
        buffer = ctypes.create_string_buffer(64)
        size = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, 64, 0, True)
        if size < 0:
            buffer = ctypes.create_string_buffer(-size)
            size = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, -size, 0, True)
        return buffer.raw[:size]

    def is_end_of_generation(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def metadata(self, key: str) -> str | None:
        """A string from the GGUF header, e.g. ``tokenizer.chat_template``."""
        size = 1 << 16
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buffer, size)
            if n < 0:
                return None
            if n < size:
                return buffer.value.decode("utf-8", errors="replace")
            size = n + 1

    def token_text(self, token: int) -> str:
        return self.piece(token).decode("utf-8", errors="replace")

    # -- evaluation -----------------------------------------------------------------

    def decode(
        self, tokens: Sequence[int], start: int, outputs: Sequence[bool], *, min_rows: int = 1
    ) -> None:
        """Evaluate ``tokens`` at positions ``start, start+1, ...`` of sequence 0,
        keeping logits for the tokens flagged in ``outputs`` (at most n_batch tokens);
        a batch under ``min_rows`` rows is padded with filler rows."""
        n = len(tokens)
        self.decode_rows(tokens, range(start, start + n), [(0,)] * n, outputs, min_rows=min_rows)

    def decode_rows(
        self,
        tokens: Sequence[int],
        positions: Sequence[int],
        seqs: Sequence[Sequence[int]],
        outputs: Sequence[bool],
        *,
        min_rows: int = 1,
    ) -> None:
        """Evaluate one batch: row ``i`` is token ``tokens[i]`` at ``positions[i]`` in
        the sequences ``seqs[i]``; logits kept for the rows flagged in ``outputs``.
        Under ``min_rows`` rows, filler rows in :data:`SCRATCH` make up the difference
        (their cells are dropped after the decode; the rows' logits indices stay)."""
        n = len(tokens)
        if n == 0:
            return
        fill = max(0, min(min_rows, self.n_batch) - n)
        if n + fill > self.n_batch:
            raise ValueError(f"{n} tokens exceed the batch size {self.n_batch}")
        batch = self._batch
        batch.n_tokens = n + fill
        self.filler_rows += fill
        for i in range(n):
            batch.token[i] = tokens[i]
            batch.pos[i] = positions[i]
            batch.n_seq_id[i] = len(seqs[i])
            for j, seq in enumerate(seqs[i]):
                batch.seq_id[i][j] = seq
            batch.logits[i] = 1 if outputs[i] else 0
        for k in range(fill):
            batch.token[n + k] = tokens[-1]
            batch.pos[n + k] = k
            batch.n_seq_id[n + k] = 1
            batch.seq_id[n + k][0] = SCRATCH
            batch.logits[n + k] = 0
        status = llama_cpp.llama_decode(self.ctx, batch)
        if fill:
            self.drop_sequence(SCRATCH)
        if status != 0:
            raise LlamaRuntimeError(f"llama_decode failed with status {status}")

    def logits(self, index: int) -> np.ndarray:
        """The logits of the ``index``-th token of the last decoded batch: a read-only
        view of llama.cpp's buffer, valid until the next decode (no 1 MB copy per
        scored position; copy it to keep it)."""
        pointer = llama_cpp.llama_get_logits_ith(self.ctx, index)
        view = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))
        view.flags.writeable = False
        return view

    def clear(self) -> None:
        """Forget everything evaluated so far."""
        llama_cpp.llama_memory_clear(self.memory, True)

    def truncate(self, position: int) -> None:
        """Drop the cache from ``position`` on (roll back to a prefix)."""
        if not llama_cpp.llama_memory_seq_rm(self.memory, 0, position, -1):
            raise LlamaRuntimeError(f"llama.cpp could not roll the cache back to {position}")

    def share_sequence(self, seq: int) -> None:
        """Make sequence ``seq`` see everything sequence 0 holds (no data is copied:
        the cells are tagged with ``seq`` too)."""
        llama_cpp.llama_memory_seq_cp(self.memory, 0, seq, -1, -1)

    def share_prefix(self, seq: int, end: int) -> None:
        """Make sequence ``seq`` see sequence 0's cells of positions before ``end`` only
        (a branch off the prompt at ``end``; the prompt's later cells stay, unseen)."""
        llama_cpp.llama_memory_seq_cp(self.memory, 0, seq, 0, end)

    def drop_sequence(self, seq: int) -> None:
        """Forget sequence ``seq``: its own cells are freed, shared ones lose its tag."""
        if not llama_cpp.llama_memory_seq_rm(self.memory, seq, -1, -1):
            raise LlamaRuntimeError(f"llama.cpp could not drop sequence {seq}")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_free(self.ctx)
        llama_cpp.llama_model_free(self.model)


def log_normaliser(logits: np.ndarray) -> float:
    """``log(sum(exp(logits)))``: a token's log-probability is its logit minus this.

    Exponentials in float32 (the logits' own precision, vectorised), their sum in
    float64: over 262,144 entries the result is within 1e-6 nats of an all-float64
    computation, at a fraction of its cost and with no full-vocabulary output array.

    >>> round(log_normaliser(np.array([0.0, 0.0], dtype=np.float32)), 6)  # log 2
    0.693147
    """
    top = float(logits.max())
    return top + math.log(float(np.exp(logits - np.float32(top)).sum(dtype=np.float64)))
