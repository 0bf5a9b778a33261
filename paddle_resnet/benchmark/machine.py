"""The machine a benchmark runs on: CPU model, cores, clock, vector width, the peak FP32 rate they imply, the
load from other processes, and the software versions.

The CPU is read from ``/proc/cpuinfo`` (``CPUINFO``; tests point it at a file of their own to describe
another machine). The peak rate is computed once, from the numbers its formula prints, so the formula and the
rate always agree, on any clock.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .._checks import check_threads  # noqa: F401  (re-exported: the benchmark's check of --threads)
from .._process import available_threads

#: Where the CPU's description is read from (Linux); a missing or unreadable file gives an unknown CPU.
CPUINFO = "/proc/cpuinfo"

#: FMA pipes per core assumed by the peak rate: two full-width pipes (AMD Zen 5, Intel Xeon Gold 6xxx /
#: Platinum, every AVX2 core since Haswell / Zen 2). Zen 4 and some Xeons have half that for AVX-512.
FMA_PIPES = 2


def machine_info(threads: int) -> dict:
    """CPU model, cores, clock, vector width and the peak FP32 rate derived from them; software versions."""
    cpu = read_cpuinfo()
    info = {"cpu": cpu.get("model name", platform.processor() or "unknown"), "cpu_family": cpu.get("cpu family"),
            "logical_cpus": os.cpu_count(), "available_cpus": available_threads(), "threads_used": threads,
            **peak_fp32(cpu, threads),
            "python": platform.python_version(), "numpy": np.__version__}
    import paddle

    info["paddle"] = paddle.__version__
    for name in ("onnxruntime", "paddle2onnx"):
        try:
            info[name] = __import__(name).__version__
        except (ImportError, ValueError):
            info[name] = None
    return info


def peak_fp32(cpu: Dict[str, str], threads: int) -> dict:
    """The peak FP32 rate of ``threads`` cores of the CPU described by ``cpu`` (``read_cpuinfo`` fields):
    cores x clock x float32 lanes of the widest vectors x 2 FLOPs per FMA x ``FMA_PIPES``.

    ``peak_gflops`` is ``None`` when the clock is unknown (no ``cpu MHz`` field, as on some virtual machines).

    >>> peak = peak_fp32({"cpu MHz": "2445.400", "flags": "sse avx2 fma"}, threads=2)
    >>> peak["peak_gflops"], peak["peak_formula"]
    (156.5, '2 cores x 2.4454 GHz x 8 fp32 lanes (avx2) x 2 FLOPs/FMA x 2 FMA pipes = 156.5 GFLOP/s')
    """
    flags = set(cpu.get("flags", "").split())
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4  # float32 lanes of the widest vectors
    isa = "avx512f" if lanes == 16 else "avx2" if lanes == 8 else "sse"
    try:
        mhz = float(cpu.get("cpu MHz", ""))
    except ValueError:
        mhz = 0.0
    # An FMA is 2 FLOPs; without FMA, a multiply and an add pipe give the same 2 FLOPs per lane per cycle.
    flops_per_cycle = threads * lanes * 2 * FMA_PIPES
    info = {"clock_mhz": mhz or None, "isa": isa, "fma": "fma" in flags, "fp32_lanes": lanes,
            "fma_pipes_assumed": FMA_PIPES, "fp32_flops_per_cycle": flops_per_cycle}
    if not mhz > 0:
        return {**info, "peak_gflops": None,
                "peak_formula": f"unknown: {CPUINFO} gives no clock ({threads} cores x {lanes} fp32 lanes ({isa}) x "
                                f"2 FLOPs/FMA x {FMA_PIPES} FMA pipes per cycle)"}
    ghz = f"{mhz / 1e3:.6f}".rstrip("0").rstrip(".")  # exactly the MHz /proc/cpuinfo gives (3 decimals)
    peak = round(flops_per_cycle * float(ghz), 1)  # from the printed clock: the formula and the rate agree
    return {**info, "peak_gflops": peak,
            "peak_formula": f"{threads} cores x {ghz} GHz x {lanes} fp32 lanes ({isa}) x 2 FLOPs/FMA x "
                            f"{FMA_PIPES} FMA pipes = {peak:.1f} GFLOP/s"}


def read_cpuinfo(path: Optional[str] = None) -> Dict[str, str]:
    """The first processor's fields of ``path`` (default ``CPUINFO``); empty if it cannot be read (off Linux)."""
    try:
        text = Path(path or CPUINFO).read_text(encoding="utf-8", errors="replace")
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
