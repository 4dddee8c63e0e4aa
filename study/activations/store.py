"""Activation results kept on disk, one content-keyed pair of files per request.

Why not the JSON-lines response store (study.store): a result here is an array (a
dezfouli-length transcript at every layer of Gemma 3 is megabytes), and that store
reads every line of every shard to index it. So each result is its own pair of files
under ``<store>/<key[:2]>/``: ``<key>.npy`` (the float16 states) and ``<key>.json``
(everything else). Both are written under a temporary name and renamed into place, the
JSON last: a result exists exactly when its JSON does, so a process killed at any
moment (kill -9 included) leaves every finished result readable and none half-written,
and a rerun computes only what is missing. Two jobs computing the same key write the
same bytes; the second rename wins harmlessly.

The key (:func:`activation_key`) is built like study.store.request_key: a sha256 of the
engine fingerprint (model sha256, code version, dtype, chunk size, library versions)
and every field of the request (prompt, spans, tags, layers, template length).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from study.activations.records import ActivationRequest, ActivationResult
from study.atomic import atomic_path


def activation_key(fingerprint: Mapping[str, str], request: ActivationRequest) -> str:
    """sha256 over the fingerprint and every field of ``request``.

    >>> fp = {"engine": "activations", "model_sha256": "ab"}
    >>> a = ActivationRequest("x <<y>>", ((4, 5),))
    >>> same = ActivationRequest("x <<y>>", ((4, 5),))
    >>> activation_key(fp, a) == activation_key(dict(fp), same)
    True
    >>> other_layers = ActivationRequest(a.prompt, a.spans, layers=(0,))
    >>> activation_key(fp, a) == activation_key(fp, other_layers)
    False
    """
    fields = {name: getattr(request, name) for name in request.__slots__}
    content = {"fingerprint": dict(sorted(fingerprint.items())), "mode": "activations"}
    canonical = json.dumps(
        {**content, "request": fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class ActivationStore:
    """Results by key in the folder ``path`` (see the module doc).

    >>> import tempfile
    >>> store = ActivationStore(Path(tempfile.mkdtemp()))
    >>> result = ActivationResult(np.ones((1, 2, 3), np.float16), (0, 1), (0.5,), (1,), (4,), 6)
    >>> store.put("k", result, {"engine": "activations"})
    >>> store.get("k").layers, store.get("k").states.shape, store.get("other")
    ((0, 1), (1, 2, 3), None)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _files(self, key: str) -> tuple[Path, Path]:
        folder = self.path / key[:2]
        return folder / f"{key}.npy", folder / f"{key}.json"

    def __contains__(self, key: str) -> bool:
        return self._files(key)[1].is_file()

    def get(self, key: str) -> ActivationResult | None:
        states_file, meta_file = self._files(key)
        if not meta_file.is_file():
            return None
        meta = json.loads(meta_file.read_text())
        states = np.load(states_file)
        if list(states.shape) != meta["shape"] or states.dtype != np.float16:
            raise ValueError(
                f"{states_file}: holds {states.dtype} {list(states.shape)}, but {meta_file} "
                f"says float16 {meta['shape']}; delete both to recompute"
            )
        return ActivationResult(
            states=states,
            layers=tuple(meta["layers"]),
            nll=tuple(meta["nll"]),
            n_tokens=tuple(meta["n_tokens"]),
            positions=tuple(meta["positions"]),
            prompt_tokens=meta["prompt_tokens"],
            option_logprobs=tuple(tuple(row) for row in meta.get("option_logprobs", [])),
        )

    def put(self, key: str, result: ActivationResult, provenance: Mapping[str, object]) -> None:
        """Keep ``result`` under ``key`` (replacing any result stored there)."""
        if result.states.dtype != np.float16:
            raise ValueError(f"states must be float16, got {result.states.dtype}")
        states_file, meta_file = self._files(key)
        with atomic_path(states_file) as tmp, tmp.open("wb") as handle:
            np.save(handle, result.states)
        meta = {
            "key": key,
            "shape": list(result.states.shape),
            "layers": list(result.layers),
            "nll": list(result.nll),
            "n_tokens": list(result.n_tokens),
            "positions": list(result.positions),
            "prompt_tokens": result.prompt_tokens,
            "option_logprobs": [list(row) for row in result.option_logprobs],
            "provenance": dict(provenance),
        }
        with atomic_path(meta_file) as tmp:
            tmp.write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n")
