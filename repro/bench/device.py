"""The bench's device facts, shared by ``repro bench`` and ``repro bench --stacked``: which device, its name,
its dense peak, a synchronising timer, and how busy the machine is."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from repro.errors import ReproError

__all__ = ["PEAK_TFLOPS", "busy_cores", "cores", "cpu_name", "device_name", "peak_tflops", "pick_device", "sync"]

# Dense (no sparsity) peak TFLOP/s by device-name substring, first match wins. "32" is plain FP32 on the
# CUDA cores; bf16 is the tensor cores. SXM parts unless the name says PCIe/NVL (the PCIe and NVL boards
# are clocked lower). Unknown devices (and CPUs) get no peak, so no "% of peak".
PEAK_TFLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bf16": 756.0, "32": 51.0}),
    ("H100 NVL", {"bf16": 835.0, "32": 60.0}),
    ("H100", {"bf16": 989.0, "32": 67.0}),
    ("H200", {"bf16": 989.0, "32": 67.0}),
)

def peak_tflops(device_name: str, precision: str) -> float | None:
    """Dense peak TFLOP/s of ``device_name`` at ``precision`` ("32" or "bf16"), or None when unknown."""
    for key, peaks in PEAK_TFLOPS:
        if key in device_name:
            return peaks[precision]
    return None


def sync(device: torch.device) -> None:
    # CUDA kernels run asynchronously: without this the timer would stop before the work does.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def busy_cores(seconds: float = 0.5) -> float | None:
    """Cores kept busy by the whole machine over the next ``seconds`` (Linux ``/proc/stat``), else None.

    Sampled while this process sleeps, so it measures everyone else. Unlike the 1-minute load average it
    does not lag: a benchmark that just finished does not make the next one look contended.
    """

    def snapshot() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle  # user..steal; guest time is already inside user

    try:
        total0, idle0 = snapshot()
        time.sleep(seconds)
        total1, idle1 = snapshot()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    # /proc/stat sums every CPU of the machine, not just this process's affinity set.
    return (os.cpu_count() or 1) * (total - (idle1 - idle0)) / total if total > 0 else None


def cpu_name() -> str:
    # The CPU model makes CPU rows comparable across machines; /proc/cpuinfo is Linux-only, hence the fallback.
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "CPU"




def pick_device(choice: str) -> torch.device:
    """``auto`` (a GPU when there is one), ``cpu`` or ``cuda``; one clear error for a missing GPU."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ReproError("--device cuda but no CUDA device is available")
    on_gpu = choice == "cuda" or (choice == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if on_gpu else "cpu")


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model with its core count (makes CPU rows comparable across machines)."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"{cpu_name()} ({cores()} cores)"
