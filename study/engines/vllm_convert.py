"""Convert a GGUF language model into a Hugging Face folder (safetensors) that vLLM loads.

Runs as a script in the vLLM environment (.venv-vllm: transformers, gguf, accelerate,
torch), so it imports nothing from this package::

    .venv-vllm/bin/python study/engines/vllm_convert.py MODEL.gguf OUT_DIR --sha256 HEX

transformers reads the GGUF and dequantizes every tensor to float32 (the values the
quantized blocks stand for, so the same weights llama.cpp computes with). The model it
returns is flagged as quantized and refuses ``save_pretrained``; so its state dict is
copied into a plain model built from the same config, which saves normally. The
tokenizer (with its chat template) comes from the GGUF as well.

OUT_DIR appears complete or not at all: everything is written to a temporary folder
beside it and renamed into place. ``source.json`` in it records the GGUF's sha256 and
the library versions that did the conversion. study.engines.vllm_model runs this and
caches OUT_DIR by the GGUF's sha256.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path


def convert(gguf: Path, out_dir: Path, sha256: str) -> Path:
    """Write the Hugging Face folder for ``gguf`` (whose sha256 the caller computed, to
    be recorded with the result) at ``out_dir``; return ``out_dir``."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    # The GGUF loader marks the config as quantized; the plain copy must not inherit that.
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), strict=True)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        source = {
            "gguf": name,
            "gguf_sha256": sha256,
            "dtype": "float32",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }
        (staging / "source.json").write_text(json.dumps(source, indent=2) + "\n")
        staging.chmod(0o755)  # mkdtemp makes it private; the cache is for every user
        if out_dir.exists():
            # Another process finished the same conversion first; theirs is as good.
            shutil.rmtree(staging)
        else:
            staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf", type=Path, help="the .gguf file")
    parser.add_argument("out_dir", type=Path, help="the folder to create")
    parser.add_argument("--sha256", required=True, help="the GGUF's sha256, recorded")
    args = parser.parse_args(argv)
    if not args.gguf.is_file():
        print(f"error: {args.gguf}: no such file", file=sys.stderr)
        return 2
    print(convert(args.gguf, args.out_dir, args.sha256))
    return 0


if __name__ == "__main__":
    sys.exit(main())
