"""Run engine=vllm (in-process) inside the vLLM environment and print its results as JSON.

The package's main environment (Python 3.12) cannot import vLLM's CPU build, so
test_inprocess_engine.py runs this file with .venv-vllm's Python and the repository on
``PYTHONPATH``::

    .venv-vllm/bin/python tests/engines_vllm/inprocess_driver.py < spec.json

The spec names the GGUF file and the requests; the output holds the engine's score and
sample results, its fingerprint, and a reference: the same token ids through a plain
float32 transformers forward pass of the same weights, which vLLM's prompt
log-probabilities must match.
"""

from __future__ import annotations

import json
import sys


def reference_nll(folder, plans):
    """Per request, per response: minus the summed log-probability of its tokens under
    a plain transformers forward pass."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    out = []
    with torch.no_grad():
        for plan in plans:
            ids = torch.tensor([plan.ids])
            logprobs = torch.log_softmax(model(ids).logits[0].double(), dim=-1)
            out.append(
                [
                    -sum(float(logprobs[j - 1, plan.ids[j]]) for j in range(start, end))
                    for start, end in plan.responses
                ]
            )
    return out


def main() -> None:
    from study.engines.base import SampleRequest, ScoreRequest
    from study.engines.config import ModelConfig, VllmEngineConfig
    from study.engines.vllm import build

    spec = json.load(sys.stdin)
    model = ModelConfig(name=spec["model"], gguf=spec["gguf"])
    engine = build(VllmEngineConfig(gpu_memory_utilization=0.2, enforce_eager=True), model)
    scores = [
        ScoreRequest(r["prompt"], tuple(map(tuple, r["spans"])), options=r["options"])
        for r in spec["score"]
    ]
    samples = [
        SampleRequest(r["prompt"], tuple(map(tuple, r["spans"])), seed=r["seed"], max_tokens=4)
        for r in spec["sample"]
    ]
    score_results = list(engine.score(scores))
    sample_results = list(engine.sample(samples))
    plans = [engine._plan(r.prompt, r.spans, 0, r.tags, extra=1) for r in scores]
    result = {
        "fingerprint": dict(engine.fingerprint()),
        "score": [
            {"nll": r.nll, "n_tokens": r.n_tokens, "option_probs": r.option_probs}
            for r in score_results
        ],
        "sample": [r.responses for r in sample_results],
        "reference_nll": reference_nll(str(engine.weights.path), plans),
    }
    engine.close()
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
