"""The response store: one append-only file per job, merged on read.

A store is a folder (by default ``OUT/responses/``). Each process that writes gets its
own shard, ``<host>-<pid>-<random>.jsonl``, and appends one JSON line per result as soon
as it is computed; a look-up reads every shard in the folder. Why files and not one
SQLite database: jobs of a cluster sweep share ``out=`` on a network filesystem (NFS,
Lustre), where SQLite's locks, and its WAL mode's shared memory, do not work across
hosts. Here nothing is ever locked or rewritten: each file has exactly one writer, and a
reader only needs what POSIX appends give on any filesystem.

- A killed process loses only the results in flight. A line cut short by the kill has
  no newline; readers take complete lines only, so it is never read, and no one appends
  after it (the shard's name is unique to the dead process).
- Two jobs computing the same request at once both append it, each to its own shard; a
  look-up returns one result per key, the newest by its ``created`` time (ties: the
  shard name, then the position), which is also how ``replace=True`` (``fresh=true``)
  overrides older results in other shards.
- Shards are plain JSON lines (``key``, ``mode``, ``created``, ``provenance``,
  ``result``), readable by any tool. Floats keep every bit (see :mod:`study.store.codec`).

A look-up rereads only what was appended since the previous one, so an open store also
sees results that concurrent jobs commit.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

from study.engines.base import SampleResult, ScoreResult
from study.store.codec import encode_result, result_from_data

log = logging.getLogger(__name__)

SHARD_SUFFIX = ".jsonl"
# Bytes read at a time when scanning a shard; a line longer than this is read whole.
_CHUNK = 16 << 20


class _Head(msgspec.Struct):
    """The fields an index needs; msgspec skips the rest of the line without building it."""

    key: str
    created: float


@dataclass(frozen=True, order=True)
class _Where:
    # Ordered: the newest record of a key wins (see the module doc).
    created: float
    shard: str
    offset: int
    length: int


@functools.cache
def _job_id(pid: int) -> str:
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"
    return f"{host}-{pid}-{secrets.token_hex(4)}"


def job_id() -> str:
    """This process's shard name: host, pid and a random part, so two jobs never share a
    shard, even when a pid is reused or two hosts have the same name."""
    return _job_id(os.getpid())


class ResponseStore:
    """Results by key, in the folder ``path`` (see the module doc).

    >>> import tempfile, pathlib
    >>> from study.engines.base import SampleResult
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "responses"
    >>> with ResponseStore(path) as store:
    ...     store.put("k1", "sample", SampleResult(("A",), 2, 1), {"engine": "simulated"})
    ...     store.put("k1", "sample", SampleResult(("B",), 2, 1), {"engine": "simulated"})
    ...     store.get_many(["k1", "k2"])["k1"].responses, len(store)
    (('A',), 1)
    """

    def __init__(self, path: str | Path, *, job: str | None = None) -> None:
        self.path = Path(path)
        self.job = job or job_id()
        self._own = self.path / f"{self.job}{SHARD_SUFFIX}"
        self._writer: int | None = None  # file descriptor, opened at the first put
        self._index: dict[str, _Where] = {}
        self._read_to: dict[str, int] = {}  # shard name -> bytes indexed so far

    def __enter__(self) -> ResponseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            os.close(self._writer)
            self._writer = None

    def __len__(self) -> int:
        self._refresh()
        return len(self._index)

    def put(
        self,
        key: str,
        mode: str,
        result: ScoreResult | SampleResult,
        provenance: Mapping[str, object],
        *,
        replace: bool = False,
    ) -> None:
        """Append one result to this job's shard. A key this store already knows (from
        its last look-up or its own writes) is kept unless ``replace``."""
        if not replace and key in self._index:
            return
        created = time.time()
        line = (
            f'{{"key":{json.dumps(key)},"mode":{json.dumps(mode)},"created":{created!r},'
            f'"provenance":{json.dumps(provenance, sort_keys=True)},'
            f'"result":{encode_result(result)}}}\n'
        ).encode()
        if self._writer is None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._writer = os.open(self._own, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
            self._read_to.setdefault(self._own.name, 0)
        offset = os.fstat(self._writer).st_size
        view = memoryview(line)
        while view:  # a regular file takes the whole line, except on a full disk
            view = view[os.write(self._writer, view) :]
        self._remember(key, _Where(created, self._own.name, offset, len(line)))
        if self._read_to[self._own.name] == offset:
            self._read_to[self._own.name] = offset + len(line)

    def get_many(self, keys: Iterable[str]) -> dict[str, ScoreResult | SampleResult]:
        """The stored results among ``keys``."""
        self._refresh()
        wanted = sorted(
            (self._index[key] for key in set(keys) if key in self._index),
            key=lambda where: (where.shard, where.offset),
        )
        found: dict[str, ScoreResult | SampleResult] = {}
        shard, handle = None, None
        try:
            for where in wanted:
                if where.shard != shard:
                    if handle is not None:
                        handle.close()
                    shard, handle = where.shard, (self.path / where.shard).open("rb")
                assert handle is not None
                handle.seek(where.offset)
                record = json.loads(handle.read(where.length))
                found[record["key"]] = result_from_data(record["mode"], record["result"])
        finally:
            if handle is not None:
                handle.close()
        return found

    def contains(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` are stored (without decoding them)."""
        self._refresh()
        return {key for key in keys if key in self._index}

    # -- reading the shards ---------------------------------------------------------------
    def _remember(self, key: str, where: _Where) -> None:
        known = self._index.get(key)
        if known is None or where > known:
            self._index[key] = where

    def _refresh(self) -> None:
        """Index what every shard gained since the last look-up."""
        if not self.path.is_dir():
            return
        for shard in sorted(self.path.glob(f"*{SHARD_SUFFIX}")):
            start = self._read_to.get(shard.name, 0)
            if shard.stat().st_size > start:
                self._read_to[shard.name] = self._scan(shard, start)

    def _scan(self, shard: Path, start: int) -> int:
        """Index the complete lines of ``shard`` from byte ``start``; return where the
        next look-up starts (after the last complete line read)."""
        offset = start
        with shard.open("rb") as handle:
            handle.seek(start)
            pending = b""
            while block := handle.read(_CHUNK):
                pending += block
                lines = pending.split(b"\n")
                pending = lines.pop()  # no newline yet: in flight or cut by a kill
                for line in lines:
                    try:
                        head = msgspec.json.decode(line, type=_Head)
                    except msgspec.DecodeError as err:
                        # A line that ends but does not parse: on a network filesystem,
                        # bytes not yet arrived can read as zeros. Stop here and retry
                        # at the next look-up rather than skip a result.
                        where = f"{shard}:{_line_number(shard, offset)}"
                        log.warning("%s: unreadable record (%s); retrying later", where, err)
                        return offset
                    size = len(line) + 1
                    self._remember(head.key, _Where(head.created, shard.name, offset, size))
                    offset += size
        return offset


def _line_number(shard: Path, offset: int) -> int:
    """The 1-based line number at byte ``offset`` of ``shard`` (for messages)."""
    with shard.open("rb") as handle:
        return handle.read(offset).count(b"\n") + 1
