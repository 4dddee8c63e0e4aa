"""The response store: every engine request's result, keyed by a content hash.

A folder of append-only shards, one per job, merged on read (:class:`ResponseStore`,
safe on a network filesystem shared by a cluster's jobs); :func:`request_key` says what
makes two requests the same; :mod:`study.store.codec` turns results into JSON and back.
"""

from study.store.codec import decode_result, encode_result
from study.store.keys import request_key
from study.store.shards import ResponseStore

__all__ = ["ResponseStore", "decode_result", "encode_result", "request_key"]
