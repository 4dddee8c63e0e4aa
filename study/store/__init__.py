"""The response store: every engine request's result, keyed by a content hash.

One SQLite file holds all results (:class:`ResponseStore`); :func:`request_key` says what
makes two requests the same; :mod:`study.store.codec` turns results into JSON and back.
"""

from study.store.codec import decode_result, encode_result
from study.store.keys import request_key
from study.store.sqlite import ResponseStore

__all__ = ["ResponseStore", "decode_result", "encode_result", "request_key"]
