"""Write a synthetic experiment byte for byte the same each time.

The zip has one member, ``prompts.jsonl``, with a fixed timestamp and permissions, so
the same config and seed give the same bytes on any machine and any day.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MEMBER = "prompts.jsonl"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Beyond this many bytes a member needs the zip64 extension (decided before writing).
ZIP64_FROM_BYTES = 1 << 31


def write_prompts_zip(records: Iterable[dict[str, Any]], path: Path, expected_bytes: int) -> None:
    """One JSON object per line into ``path`` (a zip holding ``prompts.jsonl``)."""
    info = zipfile.ZipInfo(MEMBER, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive,
        archive.open(info, "w", force_zip64=expected_bytes >= ZIP64_FROM_BYTES // 2) as member,
    ):
        for record in records:
            member.write(json.dumps(record, ensure_ascii=False).encode("utf-8"))
            member.write(b"\n")
