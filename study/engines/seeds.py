"""Stable hashes: the same inputs give the same number on every machine and run.

Python's ``hash()`` is salted per process, so seeds and simulated effects come from
sha256 of a canonical encoding of their parts instead.
"""

from __future__ import annotations

import hashlib
import json


def stable_int(*parts: object, bits: int = 63) -> int:
    """A non-negative integer below ``2**bits`` determined by ``parts``.

    >>> stable_int("gemma3_270m", "exp", "7", "own", 0) == stable_int(
    ...     "gemma3_270m", "exp", "7", "own", 0)
    True
    >>> stable_int("a", 1) != stable_int("a", 2)
    True
    """
    encoded = json.dumps(parts, separators=(",", ":"), ensure_ascii=False).encode()
    digest = hashlib.sha256(encoded).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - bits)


def run_seed(
    model: str,
    experiment: str,
    participant: str,
    persona: str,
    run: int,
    *,
    config_seed: int,
    session: int = 0,
) -> int:
    """The seed of one run (STUDY.md, "Run"): a stable hash of the model, the person,
    the session, the persona, the run index and the config's ``seed``, so that another
    config seed draws new replicates and no two sessions share a random stream. Fits
    llama.cpp's and vLLM's 32-bit seeds.

    >>> run_seed("m", "e", "p", "none", 0, config_seed=0) != run_seed(
    ...     "m", "e", "p", "none", 1, config_seed=0)
    True
    >>> run_seed("m", "e", "p", "none", 0, config_seed=0) != run_seed(
    ...     "m", "e", "p", "none", 0, config_seed=1)
    True
    """
    return stable_int(
        "run", model, experiment, participant, session, persona, run, config_seed, bits=31
    )
