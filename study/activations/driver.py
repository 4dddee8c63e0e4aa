"""The activations driver: residual-stream states at the choice points of a prompt.

Runs as a script wherever torch and transformers are installed (on these machines the
vLLM environment, .venv-vllm; on a GPU machine any environment with CUDA torch), so it
imports nothing from this package::

    .venv-vllm/bin/python study/activations/driver.py MODEL_FOLDER --device cpu

It loads the Hugging Face folder (the float32 weights study.engines.vllm_model converts
from the GGUF) and answers one JSON line on stdout per JSON line on stdin:

- request: ``{"pieces": [[text, choice, template], ...], "layers": [...] | null,
  "chunk": N, "out": PATH, "options": [...], "steer": {"layer": L, "vector": [...]}}``,
  the prompt cut at its span boundaries (study.engines.pieces; ``choice`` is the
  response index of a response piece, null for context); ``options`` and ``steer`` are
  optional;
- answer: ``{"nll": [...], "n_tokens": [...], "prompt_tokens": N, "positions": [...],
  "layers": [...], "option_logprobs": [[...], ...]}``, having written ``PATH`` (a
  float16 ``.npy`` of shape [choice points, layers, hidden]); or ``{"error": TEXT}``.

Steering adds ``vector`` to the output of block ``L`` at every position before anything
reads it (the kept states of that block included). ``option_logprobs`` gives, per choice
point, each option's log-probability as the first token of the response, only when
every option is a single token (else it is empty: a first token's probability is not a
multi-token option's).

The first line it writes says it is ready (layers, hidden size, context window,
library versions). Everything the libraries print goes to stderr: stdout is the
protocol's.

Tokenisation is the package's contract (study.engines.base): each piece tokenised on
its own, the first with the model's BOS where llama.cpp puts one (``--bos``, the GGUF's
flag, study.activations.bos), template text reading its special-token markup. The
state kept for choice point i is at the last token of the context before its response
(the context ends with ``<<``), at the output of each chosen decoder block (layer 0 =
after the first block).

Memory: the prompt goes through the model in chunks of ``chunk`` tokens with the KV
cache, and forward hooks keep only the rows of the choice points, so memory is the
weights, the cache and one chunk's activations, never tokens x layers. The logits are
computed only where a response token is predicted (``logits_to_keep``); a vocabulary
of 262,144 (Gemma 3) times 20,000 tokens would be 21 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any


class Tokens:
    """The package's tokenisation contract: each piece alone, BOS first where the model
    wants one, special-token markup read only in chat-template text."""

    def __init__(self, tokenizer: Any, add_bos: bool | None) -> None:
        self.tokenizer = tokenizer
        # None: the tokenizer's own special tokens decide (a folder with no GGUF).
        self.add_bos = add_bos

    def encode(self, text: str, first: bool, template: bool) -> list[int]:
        special = first and self.add_bos is None
        ids = list(
            self.tokenizer.encode(
                text, add_special_tokens=special, split_special_tokens=not template
            )
        )
        if first and self.add_bos:
            ids.insert(0, int(self.tokenizer.bos_token_id))
        return ids


def plan(tokens: Tokens, pieces: list[list[Any]]) -> tuple[list[int], list[tuple[int, int]]]:
    """Token ids of the whole prompt and each response's [start, end) in them."""
    ids: list[int] = []
    n_choices = sum(1 for _text, choice, _template in pieces if choice is not None)
    responses = [(0, 0)] * n_choices
    for number, (text, choice, template) in enumerate(pieces):
        piece_ids = tokens.encode(text, number == 0, bool(template))
        if choice is not None:
            responses[choice] = (len(ids), len(ids) + len(piece_ids))
        ids.extend(piece_ids)
    if any(start == 0 for start, _end in responses):
        raise ValueError("a response at the very start of a prompt has no context")
    return ids, responses


class Driver:
    def __init__(
        self, folder: str, device: str, dtype: str, threads: int, bos: bool | None
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads > 0:
            torch.set_num_threads(threads)
        self.torch = torch
        self.device = torch.device(device)
        self.tokens = Tokens(AutoTokenizer.from_pretrained(folder), bos)
        self.model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=getattr(torch, dtype), attn_implementation="sdpa"
        ).to(self.device)
        self.model.eval()
        config = self.model.config.get_text_config()
        self.n_layers = int(config.num_hidden_layers)
        self.hidden = int(config.hidden_size)
        self.context = int(config.max_position_embeddings)
        self.blocks = self.model.model.layers

    def ready(self) -> dict[str, Any]:
        import transformers

        device = (
            self.torch.cuda.get_device_name(self.device)
            if self.device.type == "cuda"
            else self.device.type
        )
        return {
            "ready": True,
            "n_layers": self.n_layers,
            "hidden": self.hidden,
            "context": self.context,
            "torch": self.torch.__version__,
            "transformers": transformers.__version__,
            "device": device,
        }

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        torch = self.torch
        import numpy as np

        layers = request["layers"]
        layers = list(range(self.n_layers)) if layers is None else [int(x) for x in layers]
        bad = [x for x in layers if not 0 <= x < self.n_layers]
        if bad:
            # IndexError: the package reports it as a configuration error, not bad input.
            raise IndexError(f"layers {bad} do not exist: the model has {self.n_layers}")
        chunk = int(request["chunk"])
        ids, responses = plan(self.tokens, request["pieces"])
        if len(ids) > self.context:
            raise ValueError(
                f"the prompt has {len(ids)} tokens, more than the model's context window "
                f"({self.context})"
            )
        positions = [start - 1 for start, _end in responses]
        option_ids = [self.tokens.encode(str(o), False, False) for o in request.get("options", [])]
        single = bool(option_ids) and all(len(o) == 1 for o in option_ids)
        option_rows: dict[int, list[float]] = {}
        before_response = set(positions)
        # Where logits are needed: before every response token (j - 1 predicts j).
        predict = sorted({j - 1 for start, end in responses for j in range(start, end)})
        states = np.zeros((len(positions), len(layers), self.hidden), dtype=np.float16)
        logprob: dict[int, float] = {}

        window: dict[str, Any] = {}
        steer = request.get("steer")
        hooks = [] if steer is None else [self._steering(steer)]
        hooks += [
            self.blocks[layer].register_forward_hook(self._keeper(slot, states, window))
            for slot, layer in enumerate(layers)
        ]
        try:
            with torch.inference_mode():
                cache = None
                for begin in range(0, len(ids), chunk):
                    end = min(begin + chunk, len(ids))
                    keep = [(i, p - begin) for i, p in enumerate(positions) if begin <= p < end]
                    window["rows"] = [i for i, _ in keep]
                    window["index"] = torch.tensor([o for _, o in keep], device=self.device)
                    wanted = [j for j in predict if begin <= j < end]
                    output = self.model(
                        input_ids=torch.tensor([ids[begin:end]], device=self.device),
                        past_key_values=cache,
                        use_cache=True,
                        # At least one row: an empty index is not a valid slice everywhere.
                        logits_to_keep=torch.tensor(
                            [j - begin for j in wanted] or [0], device=self.device
                        ),
                    )
                    cache = output.past_key_values
                    if wanted:
                        rows = torch.log_softmax(output.logits[0].double(), dim=-1)
                        for row, j in enumerate(wanted):
                            logprob[j + 1] = float(rows[row, ids[j + 1]])
                            if single and j in before_response:
                                option_rows[j] = [float(rows[row, o[0]]) for o in option_ids]
        finally:
            for hook in hooks:
                hook.remove()

        np.save(request["out"], states)
        nll = [-math.fsum(logprob[j] for j in range(start, end)) for start, end in responses]
        return {
            "nll": nll,
            "n_tokens": [end - start for start, end in responses],
            "prompt_tokens": len(ids),
            "positions": positions,
            "layers": layers,
            "option_logprobs": [option_rows[p] for p in positions] if single else [],
        }

    def _steering(self, steer: dict[str, Any]) -> Any:
        """Register a forward hook that adds ``steer["vector"]`` to block
        ``steer["layer"]``'s output at every position; returns its handle."""
        layer = int(steer["layer"])
        if not 0 <= layer < self.n_layers:
            raise IndexError(
                f"steering layer {layer} does not exist: the model has {self.n_layers}"
            )
        vector = self.torch.tensor(steer["vector"], device=self.device)
        if vector.shape != (self.hidden,):
            raise ValueError(
                f"a steering vector of {tuple(vector.shape)} values for hidden size {self.hidden}"
            )

        def add(_module: Any, _inputs: Any, output: Any) -> Any:
            if isinstance(output, tuple):
                return (output[0] + vector.to(output[0].dtype), *output[1:])
            return output + vector.to(output.dtype)

        return self.blocks[layer].register_forward_hook(add)

    def _keeper(self, slot: int, states: Any, window: dict[str, Any]) -> Any:
        """A forward hook that copies the choice points' rows of a block's output."""

        def keep(_module: Any, _inputs: Any, output: Any) -> None:
            if not window["rows"]:
                return
            hidden = output[0] if isinstance(output, tuple) else output
            picked = hidden[0].index_select(0, window["index"]).float().cpu().numpy()
            states[window["rows"], slot, :] = picked

        return keep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the Hugging Face model folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0: default")
    parser.add_argument(
        "--bos",
        choices=["auto", "yes", "no"],
        default="auto",
        help="put BOS first (the GGUF's flag, as llama.cpp does); auto: the tokenizer decides",
    )
    args = parser.parse_args(argv)
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    bos = {"auto": None, "yes": True, "no": False}[args.bos]
    driver = Driver(args.folder, args.device, args.dtype, args.threads, bos)
    protocol.write(json.dumps(driver.ready()) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = driver.run(json.loads(line))
        except Exception as err:  # reported to the package, which raises it there
            answer = {"error": f"{type(err).__name__}: {err}"}
        protocol.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
