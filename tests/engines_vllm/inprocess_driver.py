"""Run engine=vllm (in-process) inside the vLLM environment and print its results as JSON.

The package's main environment (Python 3.12) cannot import vLLM's CPU build, so
test_inprocess_engine.py runs this file with .venv-vllm's Python and the repository on
``PYTHONPATH``::

    .venv-vllm/bin/python tests/engines_vllm/inprocess_driver.py < spec.json

The spec names the GGUF file and the requests; the output holds the engine's score and
sample results, its fingerprint, and a reference: the same token ids through a plain
float32 transformers forward pass of the same weights, which vLLM's prompt
log-probabilities must match. The spec's ``calls`` are further sample calls, one
``engine.sample`` each (optionally after emptying vLLM's prefix cache); for each, the
output holds the results and what vLLM reported for every request the engine sent: its
seed, ``n``, prompt length and the prompt tokens served from the prefix cache
(``RequestOutput.num_cached_tokens``), in the order sent.
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


def sample_request(spec):
    from study.engines.base import SampleRequest

    return SampleRequest(
        spec["prompt"],
        tuple(map(tuple, spec["spans"])),
        seed=spec["seed"],
        max_tokens=spec.get("max_tokens", 4),
    )


def recorded_calls(engine, calls):
    """Run each call through ``engine.sample``, recording every request vLLM saw."""
    sent = []
    run = engine._run

    def recording(prompts, params):
        outputs = run(prompts, params)
        for output, param in zip(outputs, params, strict=True):
            sent.append(
                {
                    "seed": param.seed,
                    "n": param.n,
                    "prompt_tokens": len(output.prompt_token_ids),
                    "cached_tokens": output.num_cached_tokens or 0,
                    "completion_tokens": len(output.outputs[0].token_ids),
                }
            )
        return outputs

    engine._run = recording
    out = []
    try:
        for call in calls:
            if call.get("reset_cache"):
                assert engine.llm.reset_prefix_cache(), "vLLM did not empty its prefix cache"
            start = len(sent)
            results = list(engine.sample([sample_request(r) for r in call["requests"]]))
            out.append(
                {
                    "results": [
                        {
                            "responses": r.responses,
                            "tokens_evaluated": r.tokens_evaluated,
                            "prompt_tokens": r.prompt_tokens,
                        }
                        for r in results
                    ],
                    "sent": sent[start:],
                }
            )
    finally:
        engine._run = run
    return out


def main() -> None:
    from study.engines.base import ScoreRequest
    from study.engines.config import ModelConfig, VllmEngineConfig
    from study.engines.vllm import build

    spec = json.load(sys.stdin)
    model = ModelConfig(name=spec["model"], gguf=spec["gguf"])
    # The managed server's settings in the tests (conftest.py), so that results compare.
    settings = VllmEngineConfig(
        gpu_memory_utilization=0.2, enforce_eager=True, block_size=spec["block_size"]
    )
    engine = build(settings, model)
    scores = [
        ScoreRequest(r["prompt"], tuple(map(tuple, r["spans"])), options=r["options"])
        for r in spec["score"]
    ]
    samples = [sample_request(r) for r in spec["sample"]]
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
        "calls": recorded_calls(engine, spec.get("calls", [])),
    }
    engine.close()
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
