"""Shared helpers for the data-layer tests: write small Psych-201-style inputs."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def make_record(
    participant: Any = "1", text: str = "Pick: <<A>>. Again: <<B>>.", **extra: Any
) -> dict:
    return {"text": text, "experiment": "exp", "participant": participant, **extra}


def make_jsonl(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@pytest.fixture
def record() -> Callable[..., dict]:
    """A Psych-201 record: ``record(participant, text, **profile)``."""
    return make_record


@pytest.fixture
def jsonl_bytes() -> Callable[[list[dict]], bytes]:
    """Records as jsonl bytes, one line each."""
    return make_jsonl


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw bytes lines) to ``tmp_path/<folder>/prompts.jsonl``."""

    def write(
        records: list[dict | bytes], folder: str = "exp", name: str = "prompts.jsonl"
    ) -> Path:
        path = tmp_path / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(r if isinstance(r, bytes) else make_jsonl([r]) for r in records))
        return path

    return write


@pytest.fixture
def write_zip(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{member name: bytes}`` into ``tmp_path/<folder>/prompts.jsonl.zip``."""

    def write(
        members: dict[str, bytes], folder: str = "exp", name: str = "prompts.jsonl.zip"
    ) -> Path:
        path = tmp_path / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in members.items():
                archive.writestr(member, data)
        return path

    return write
