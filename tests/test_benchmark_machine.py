"""The benchmark's description of the machine, for CPUs other than the one running the tests.

``/proc/cpuinfo`` is replaced by files written here (``machine.CPUINFO``): AVX2-only and AVX-512 CPUs, round
and odd clocks, no clock at all. Every expectation is computed from the same fields the code reads, never
from this machine.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from helpers import run_cli
from paddle_resnet import _checks
from paddle_resnet.benchmark import format_report, machine
from paddle_resnet.deploy.predictor import available_threads

FORMULA = re.compile(r"^(\d+) cores x ([\d.]+) GHz x (\d+) fp32 lanes \((\w+)\) x 2 FLOPs/FMA x (\d+) FMA pipes "
                     r"= ([\d.]+) GFLOP/s$")


def cpuinfo(model="Test CPU", mhz="2445.400", flags="fpu sse sse2 avx fma avx2", processors=2):
    """The text of a /proc/cpuinfo with ``processors`` identical entries (``mhz=None``: no clock line)."""
    entry = ["processor\t: {n}", "vendor_id\t: AuthenticAMD", "cpu family\t: 25", f"model name\t: {model}"]
    entry += [f"cpu MHz\t\t: {mhz}"] if mhz is not None else []
    entry += [f"flags\t\t: {flags}"]
    return "\n\n".join("\n".join(entry).format(n=n) for n in range(processors)) + "\n\n"


CPUS = {  # name: (cpuinfo fields, threads, float32 lanes and ISA the flags imply)
    "avx2, odd clock (the issue's AMD EPYC)": (dict(mhz="2445.400"), 2, 8, "avx2"),
    "avx2, round clock": (dict(mhz="3000.000"), 1, 8, "avx2"),
    "avx-512, round clock": (dict(mhz="2000.000", flags="sse avx fma avx2 avx512f avx512bw"), 4, 16, "avx512f"),
    "avx-512, odd clock": (dict(mhz="2994.374", flags="avx2 avx512f fma"), 3, 16, "avx512f"),
    "sse only, odd clock": (dict(mhz="1799.999", flags="fpu sse sse2"), 1, 4, "sse"),
}


@pytest.mark.parametrize("case", list(CPUS))
def test_peak_rate_is_the_product_its_formula_prints(case, tmp_path, monkeypatch):
    fields, threads, lanes, isa = CPUS[case]
    (tmp_path / "cpuinfo").write_text(cpuinfo(**fields))
    monkeypatch.setattr(machine, "CPUINFO", str(tmp_path / "cpuinfo"))
    info = machine.machine_info(threads)

    assert info["cpu"] == "Test CPU" and info["cpu_family"] == "25" and info["threads_used"] == threads
    assert (info["isa"], info["fp32_lanes"], info["clock_mhz"]) == (isa, lanes, float(fields["mhz"]))
    # The rate from the clock as given, independently of how the code rounds what it prints.
    exact = threads * float(fields["mhz"]) / 1e3 * lanes * 2 * machine.FMA_PIPES
    assert info["peak_gflops"] == pytest.approx(exact, abs=0.05)
    # And the formula: its printed factors multiply to its printed result, which is peak_gflops.
    match = FORMULA.match(info["peak_formula"])
    assert match, info["peak_formula"]
    cores, ghz, printed_lanes, printed_isa, pipes, result = match.groups()
    assert (int(cores), int(printed_lanes), printed_isa) == (threads, lanes, isa)
    assert Decimal(ghz) * 1000 == Decimal(fields["mhz"]), "the clock exactly as /proc/cpuinfo gives it"
    assert float(result) == info["peak_gflops"] == round(int(cores) * float(ghz) * int(printed_lanes) * 2
                                                         * int(pipes), 1)


@pytest.mark.parametrize("fields", [dict(mhz=None), dict(mhz="0.000"), dict(mhz="unknown")])
def test_an_unknown_clock_gives_no_peak_rate_rather_than_zero(fields, tmp_path, monkeypatch):
    (tmp_path / "cpuinfo").write_text(cpuinfo(**fields))
    monkeypatch.setattr(machine, "CPUINFO", str(tmp_path / "cpuinfo"))
    info = machine.machine_info(2)
    assert info["peak_gflops"] is None and info["clock_mhz"] is None
    assert info["peak_formula"].startswith("unknown: ") and "gives no clock" in info["peak_formula"]
    report = _report(info)
    text = format_report(report)
    assert "peak FP32: unknown: " in text and "% of peak" in text


def test_no_cpuinfo_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "CPUINFO", str(tmp_path / "missing"))
    info = machine.machine_info(1)
    assert info["isa"] == "sse" and info["peak_gflops"] is None and info["cpu"]


def test_report_notes_a_path_faster_than_the_nominal_peak(tmp_path, monkeypatch):
    (tmp_path / "cpuinfo").write_text(cpuinfo(mhz="1000.000"))
    monkeypatch.setattr(machine, "CPUINFO", str(tmp_path / "cpuinfo"))
    info = machine.machine_info(1)  # 1 x 1 GHz x 8 x 2 x 2 = 32 GFLOP/s
    info["clock_implied_ghz_at_least"] = 1.5
    text = format_report(_report(info, gflops=48.0))
    assert "peak FP32: 1 cores x 1 GHz x 8 fp32 lanes (avx2)" in text and "= 32.0 GFLOP/s" in text
    assert "at the nominal 1000 MHz" in text and ">= 1.5 GHz" in text


def _report(info, gflops=10.0):
    """A benchmark report with one measured row, as ``run_benchmark`` returns it."""
    peak = info["peak_gflops"]
    row = {"path": "ours eager", "batch": 1, "runs": 3, "images_per_s": 1.0, "p50_ms": 1.0, "p90_ms": 1.0,
           "gflops": gflops, "fraction_of_peak": gflops / peak if peak else None, "max_rel_diff": None}
    return {"model": "resnet18", "input_size": [3, 32, 32], "gflop_per_image": 0.1, "threads": 1,
            "date": "2000-01-01T00:00:00", "machine": info, "load_before": None, "load_after": None,
            "other_processes_cores": None, "rows": [row],
            "ratios": {"1": {"fastest path": "ours eager", "fastest path, fraction of peak FP32": None}}}


@pytest.mark.parametrize("cpus", [1, 2, 64])
def test_threads_are_bounded_by_the_cpus_this_process_may_use(cpus, monkeypatch):
    monkeypatch.setattr(_checks, "available_cpus", lambda: cpus)  # check_threads lives in _checks, shared
    machine.check_threads("threads", cpus)
    for bad in (0, cpus + 1, 9999, True, 1.5):
        with pytest.raises(ValueError, match=rf"threads={bad!r}: expected 1 to {cpus} \(the CPUs this process"):
            machine.check_threads("threads", bad)


def test_benchmark_command_refuses_more_threads_than_cpus(capsys):
    code, _, err = run_cli(capsys, "benchmark", "--threads", "9999")
    assert code == 2 and f"--threads=9999: expected 1 to {available_threads()}" in err
