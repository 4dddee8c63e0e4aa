"""Whether llama.cpp puts BOS before a GGUF model's prompts.

The tokenizer transformers builds from a GGUF file drops the file's
``tokenizer.ggml.add_bos_token`` flag: Gemma 3's adds no BOS where llama.cpp adds one,
which shifts every position by one and moves NLLs by tenths of a nat. So the flag is
read from the GGUF header itself and handed to the driver. The ``gguf`` package could
read it too, but it parses every field (Gemma's 262,144 token strings) and takes
seconds; this walks the header and stops at the key.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

KEY = "tokenizer.ggml.add_bos_token"
# GGUF value types with a fixed size: their struct format.
_FIXED = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


def _read(handle: BinaryIO, fmt: str) -> tuple:
    size = struct.calcsize("<" + fmt)
    data = handle.read(size)
    if len(data) != size:
        raise ValueError("the GGUF header ends early")
    return struct.unpack("<" + fmt, data)


def _string(handle: BinaryIO) -> bytes:
    (length,) = _read(handle, "Q")
    return handle.read(length)


def _value(handle: BinaryIO, kind: int) -> object:
    if kind in _FIXED:
        return _read(handle, _FIXED[kind])[0]
    if kind == _STRING:
        return _string(handle)
    if kind == _ARRAY:
        element, count = _read(handle, "IQ")
        if element in _FIXED:  # skipped whole: nobody here reads a numeric array
            handle.seek(count * struct.calcsize("<" + _FIXED[element]), 1)
        else:
            for _ in range(count):
                _value(handle, element)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")


def gguf_adds_bos(path: str | Path) -> bool:
    """The GGUF's ``tokenizer.ggml.add_bos_token`` (False when it has none)."""
    with Path(path).open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        _version, _tensors, n_keys = _read(handle, "IQQ")
        for _ in range(n_keys):
            key = _string(handle).decode("utf-8", errors="replace")
            (kind,) = _read(handle, "I")
            value = _value(handle, kind)
            if key == KEY:
                return bool(value)
    return False
