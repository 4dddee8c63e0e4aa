"""One SQLite file of results, safe against kill -9 at any moment.

Each result is committed in its own transaction as soon as it is computed, in WAL mode:
a killed process loses only the requests in flight, and the next run finds everything
committed before the kill. Keys are the primary key and inserts ignore a key already
present, so a re-run (or two runs at once) never duplicates a result; ``replace=True``
(the stage's ``fresh=true``) overwrites instead.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from study.engines.base import SampleResult, ScoreResult
from study.store.codec import decode_result, encode_result

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    result TEXT NOT NULL,
    -- JSON: the engine fingerprint and the request's tags, for auditing.
    provenance TEXT NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID
"""

# SQLite limits the number of bound parameters per statement; look keys up in chunks.
_LOOKUP_CHUNK = 500


class ResponseStore:
    """Results by key.

    >>> import tempfile, pathlib
    >>> from study.engines.base import SampleResult
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "store.sqlite"
    >>> with ResponseStore(path) as store:
    ...     store.put("k1", "sample", SampleResult(("A",), 2, 1), {"engine": "simulated"})
    ...     store.put("k1", "sample", SampleResult(("B",), 2, 1), {"engine": "simulated"})
    ...     store.get_many(["k1", "k2"])["k1"].responses, len(store)
    (('A',), 1)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit, each statement is its own transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not a power cut mid-write).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)

    def __enter__(self) -> ResponseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def put(
        self,
        key: str,
        mode: str,
        result: ScoreResult | SampleResult,
        provenance: Mapping[str, object],
        *,
        replace: bool = False,
    ) -> None:
        """Commit one result; a key already present is kept unless ``replace``."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        self._db.execute(
            f"{verb} INTO results (key, mode, result, provenance, created) VALUES (?,?,?,?,?)",
            (
                key,
                mode,
                encode_result(result),
                json.dumps(provenance, sort_keys=True),
                time.time(),
            ),
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, ScoreResult | SampleResult]:
        """The stored results among ``keys``."""
        return {
            key: decode_result(mode, text)
            for key, mode, text in self._select("key, mode, result", keys)
        }

    def contains(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` are stored (without decoding them)."""
        return {row[0] for row in self._select("key", keys)}

    def _select(self, columns: str, keys: Iterable[str]) -> Iterator[tuple]:
        wanted = list(keys)
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(
                f"SELECT {columns} FROM results WHERE key IN ({marks})", chunk
            )
