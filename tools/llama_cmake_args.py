"""Choose CMake flags for building llama-cpp-python on the CPU this runs on.

Why not the default native build: on Xeons with AMX, llama.cpp's native build enables
AMX kernels that die with "illegal instruction" inside libggml-cpu on these machines.
So on x86-64 we turn native detection off and enable, explicitly, the widest vector
extensions the CPU reports, with AMX always off. Other architectures keep the default.

Prints the CMAKE_ARGS string; `--tag` prints a short name for the chosen build, which
keys the wheel cache so a wheel built for one CPU is never installed on another.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from pathlib import Path

COMMON = ["-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_TESTS=OFF"]
NO_AMX = ["-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]


def cpu_flags() -> set[str]:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def choose(flags: set[str], machine: str) -> tuple[str, list[str]]:
    if machine not in {"x86_64", "AMD64"} or not flags:
        return "default", COMMON
    base = ["-DGGML_NATIVE=OFF", *NO_AMX]
    avx2 = {"avx", "avx2", "fma", "f16c"}
    avx512 = {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"}
    if avx2 <= flags and avx512 <= flags:
        opts = [
            "-DGGML_AVX=ON",
            "-DGGML_AVX2=ON",
            "-DGGML_FMA=ON",
            "-DGGML_F16C=ON",
            "-DGGML_AVX512=ON",
        ]
        if "avx512_vnni" in flags:
            opts.append("-DGGML_AVX512_VNNI=ON")
        if "avx512vbmi" in flags:
            opts.append("-DGGML_AVX512_VBMI=ON")
        if "avx512_bf16" in flags:
            opts.append("-DGGML_AVX512_BF16=ON")
        return "avx512", base + opts + COMMON
    if avx2 <= flags:
        return "avx2", [
            *base,
            "-DGGML_AVX=ON",
            "-DGGML_AVX2=ON",
            "-DGGML_FMA=ON",
            "-DGGML_F16C=ON",
            *COMMON,
        ]
    if "avx" in flags:
        return "avx", [*base, "-DGGML_AVX=ON", "-DGGML_AVX2=OFF", "-DGGML_FMA=OFF", *COMMON]
    return "sse", [*base, "-DGGML_AVX=OFF", "-DGGML_AVX2=OFF", "-DGGML_FMA=OFF", *COMMON]


def main() -> None:
    tag, args = choose(cpu_flags(), platform.machine())
    joined = " ".join(args)
    # The tag names the build and carries a digest of its flags, so that changing a
    # flag here never reuses a wheel built with the old ones.
    digest = hashlib.sha256(joined.encode()).hexdigest()[:8]
    print(f"{tag}-{digest}" if "--tag" in sys.argv else joined)


if __name__ == "__main__":
    main()
