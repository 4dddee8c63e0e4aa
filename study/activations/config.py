"""Configuration of the activations engine (``conf/activations/``).

Its own group, not an ``engine=`` choice: it is not a scoring engine (it neither
samples nor gives option probabilities), and a C6 run needs both at once, the scoring
engine for the NLL and this for the states, on the same model (``model=``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ActivationsConfig:
    # Interpreter with torch and transformers that runs study/activations/driver.py;
    # "" is the vLLM environment's (.venv-vllm, `make vllm-env`).
    python: str = ""
    # A local Hugging Face model folder; "" converts the model's GGUF once (the same
    # float32 weights engine=vllm uses, study.engines.vllm_model).
    weights: str = ""
    # torch device: cpu, cuda, cuda:1, ...
    device: str = "cpu"
    # Compute dtype; states are stored as float16 whatever it is.
    dtype: str = "float32"
    # Decoder blocks kept (0 = the output of the first block); null: all of them.
    layers: list[int] | None = None
    # Tokens per forward step; memory grows with it, the KV cache with the prompt.
    chunk_size: int = 512
    # torch threads; 0: torch's default.
    threads: int = 0
    # Where results are kept (study.activations.store); a rerun computes only what is
    # missing.
    store: str = "${out}/activations"
