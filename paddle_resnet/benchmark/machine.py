"""The machine a benchmark runs on: CPU model, cores, clock, vector width, the peak FP32 rate they imply, the
load from other processes, and the software versions."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..deploy.predictor import available_threads

#: FMA pipes per core assumed by the peak rate: two full-width pipes (AMD Zen 5, Intel Xeon Gold 6xxx /
#: Platinum, every AVX2 core since Haswell / Zen 2). Zen 4 and some Xeons have half that for AVX-512.
FMA_PIPES = 2


def machine_info(threads: int) -> dict:
    """CPU model, cores, clock, vector width and the peak FP32 rate derived from them; software versions."""
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4  # float32 lanes of the widest vectors
    isa = "avx512f" if lanes == 16 else "avx2" if lanes == 8 else "sse"
    mhz = float(cpu.get("cpu MHz", 0) or 0)
    # An FMA is 2 FLOPs; without FMA, a multiply and an add pipe give the same 2 FLOPs per lane per cycle.
    peak = threads * mhz / 1e3 * lanes * 2 * FMA_PIPES
    info = {
        "cpu": cpu.get("model name", platform.processor() or "unknown"),
        "cpu_family": cpu.get("cpu family"), "logical_cpus": os.cpu_count(), "available_cpus": available_threads(),
        "threads_used": threads, "clock_mhz": mhz, "isa": isa, "fma": "fma" in flags,
        "fp32_lanes": lanes, "fma_pipes_assumed": FMA_PIPES, "peak_gflops": round(peak, 1),
        "peak_formula": f"{threads} cores x {mhz / 1e3:.2f} GHz x {lanes} fp32 lanes ({isa}) x 2 FLOPs/FMA "
                        f"x {FMA_PIPES} FMA pipes = {peak:.0f} GFLOP/s",
        "python": platform.python_version(), "numpy": np.__version__,
    }
    import paddle

    info["paddle"] = paddle.__version__
    for name in ("onnxruntime", "paddle2onnx"):
        try:
            info[name] = __import__(name).__version__
        except (ImportError, ValueError):
            info[name] = None
    return info


def _cpuinfo() -> Dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty off Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def load_average() -> Optional[List[float]]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def cpu_seconds():
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its children) so far."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), sum(os.times()[:4])


def others_cores(before, after, seconds: float) -> Optional[float]:
    """Cores that other processes kept busy on average between two ``cpu_seconds`` readings."""
    if before is None or after is None:
        return None
    return round(max(0.0, (after[0] - before[0]) - (after[1] - before[1])) / seconds, 2)
