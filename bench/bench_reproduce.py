"""Wall time of `make reproduce` from a fresh clone, split per step, and the cached rerun.

    python bench/bench_reproduce.py [--mode quick] [--keep DIR]

Clones the repository's HEAD into a temporary folder, runs `make reproduce` there twice
(the second call must reuse everything) and prints the total wall time of each call and
the seconds each pipeline step took (from the steps' `_done.json` markers). The llama.cpp
wheel cache (~/.cache/study-wheels) is shared with other clones, as on a user's machine;
pass WHEEL_CACHE=/empty/dir in the environment to include the compile.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="quick")
    parser.add_argument("--keep", type=Path, help="clone here instead of a temporary folder")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-reproduce-"))
    clone = work / "study"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    setup = timed(["make", "setup"], clone)
    first = timed(["make", "reproduce", f"MODE={args.mode}"], clone)
    second = timed(["make", "reproduce", f"MODE={args.mode}"], clone)
    print(f"clone: {clone}")
    print(f"make setup (fresh venv):       {setup:8.1f} s")
    print(f"make reproduce, first call:    {first:8.1f} s")
    print(f"make reproduce, cached call:   {second:8.1f} s")
    print("per step (first call):")
    for marker in sorted((clone / "results" / "stages").glob("*/_done.json")):
        done = json.loads(marker.read_text())
        print(f"  {marker.parent.name:45s} {done.get('seconds', float('nan')):8.1f} s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
