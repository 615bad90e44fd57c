"""The machine a benchmark ran on, printed with its figures: speed depends on it more than on anything else.

On CPUs with AVX-512 BF16 bitsandbytes has a fused 4-bit kernel and nf4 is the fastest precision; without AVX2
it dequantizes every weight on every pass and nf4 is several times slower than bf16. A figure means little
without the CPU (or GPU) that produced it.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from typing import Any

import torch

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # the extensions that decide 4-bit and bf16 speed


def cpu_summary() -> str:
    """The CPU's name, its core count and which of `CPU_FLAGS` it has (flags from /proc/cpuinfo on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            text = cpuinfo.read()
    except OSError:
        return f"{platform.processor() or platform.machine()} (flags unknown off Linux)"
    lines = text.splitlines()
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))
    has = [f for f in CPU_FLAGS if f in flags]
    cores = sum(line.startswith("processor") for line in lines)
    return f"{name}, {cores} cores; {', '.join(has) or 'no AVX2'}"


def describe() -> str:
    """Lines naming the CPU, torch and its threads, and the GPU when there is one."""
    lines = [f"cpu: {cpu_summary()}", f"torch {torch.__version__}, {torch.get_num_threads()} threads"]
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_properties(0)
        lines.append(f"gpu: {gpu.name}, {gpu.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}")
    return "\n".join(lines)


def synchronize() -> None:
    """Waits for queued GPU work, so a timer read next counts it (no-op on a CPU)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of `fn()`, the GPU's queued work included."""
    synchronize()
    started = time.perf_counter()
    result = fn()
    synchronize()
    return time.perf_counter() - started, result
