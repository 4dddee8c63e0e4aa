#!/usr/bin/env bash
# Print the path of a Python 3.12+ interpreter, or fail with a message saying where we looked.
# Order: $PYTHON if set, interpreters on PATH (newest first), then pyenv and common
# install prefixes, so a fresh machine whose default python3 is 3.11 still works.
set -euo pipefail

is_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for v in 3.14 3.13 3.12; do candidates+=("python$v"); done
candidates+=(python3 python)
root="${PYENV_ROOT:-$HOME/.pyenv}"
for d in "$root"/versions/3.1[2-9]* "$root"/versions/3.[2-9][0-9]*; do
  [ -x "$d/bin/python3" ] && candidates+=("$d/bin/python3")
done
for p in /usr/local/bin /opt/homebrew/bin /usr/bin; do
  for v in 3.14 3.13 3.12; do candidates+=("$p/python$v"); done
done

for c in "${candidates[@]}"; do
  path=$(command -v "$c" 2>/dev/null || true)
  if [ -n "$path" ] && is_ok "$path"; then
    echo "$path"
    exit 0
  fi
done
echo "error: no Python 3.12 or newer found (looked at \$PYTHON, PATH, $root/versions, /usr/local/bin)." >&2
echo "Install one (e.g. 'pyenv install 3.12') or run 'make PYTHON=/path/to/python3.12'." >&2
exit 1
