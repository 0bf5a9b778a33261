"""The benchmark's report: the machine, a table of every path and batch size, the ratios, the tool timings."""

from __future__ import annotations

from typing import Optional

from tabulate import tabulate

from .measure import EAGER, TRAIN, VISION_TRAIN

#: Share of the machine's CPUs that other processes may use during a run before the report warns that its
#: numbers cannot be trusted: on a 2-core machine, a tenth is 0.2 of a core, enough to move a ratio by ~10%.
BUSY_SHARE = 0.1


def load_warning(report: dict) -> Optional[str]:
    """A warning when other processes kept a noticeable share of the CPUs busy during the run, else None."""
    others, cpus = report.get("other_processes_cores"), report["machine"].get("logical_cpus")
    if others is None or not cpus or others / cpus < BUSY_SHARE:
        return None
    return (f"warning: other processes kept {others} of {cpus} CPUs busy on average during this run "
            f"({100 * others / cpus:.0f}%, more than {100 * BUSY_SHARE:.0f}%): they took time from the paths "
            "measured, so the numbers and ratios below cannot be trusted; measure again on a quiet machine")


def format_report(report: dict) -> str:
    machine = report["machine"]
    lines = [f"{report['model']} {report['input_size']} ({report['gflop_per_image']} GFLOP/image), "
             f"{report['threads']} threads, {report['date']}",
             f"machine: {machine['cpu']} (family {machine['cpu_family']}), {machine['available_cpus']} cores, "
             f"Paddle {machine['paddle']}, ONNX Runtime {machine['onnxruntime']}, paddle2onnx {machine['paddle2onnx']}",
             f"peak FP32: {machine['peak_formula']}",
             f"load average (1, 5, 15 min) before: {report['load_before']}, after: {report['load_after']}; "
             f"other processes kept {report['other_processes_cores']} of {machine['logical_cpus']} CPUs busy on "
             f"average during the run", ""]
    headers = ["path", "batch", "runs", "images/s", "p50 ms", "p90 ms", "GFLOP/s", "% of peak", "max diff vs eager"]
    table = []
    for row in report["rows"]:
        if "note" in row:
            table.append([row["path"], row["batch"], "", row["note"], "", "", "", "", ""])
            continue
        peak = "" if row["fraction_of_peak"] is None else f"{100 * row['fraction_of_peak']:.1f}"
        diff = "(reference)" if row["path"] == EAGER else "" if row["path"] in (TRAIN, VISION_TRAIN) else \
            f"{row['max_rel_diff']:.1e}"
        table.append([row["path"], row["batch"], row["runs"], f"{row['images_per_s']:.2f}", row["p50_ms"],
                      row["p90_ms"], row["gflops"], peak, diff])
    lines.append(tabulate(table, headers, tablefmt="github"))
    if "clock_implied_ghz_at_least" in machine:
        lines.append(f"note: the fastest path exceeds the peak at the nominal {machine['clock_mhz']:g} MHz "
                     "(what /proc/cpuinfo shows, e.g. under virtualisation): the cores ran at "
                     f">= {machine['clock_implied_ghz_at_least']} GHz (boost), so read '% of peak' as relative only.")
    ratio_names = list(next(iter(report["ratios"].values())))
    warning = load_warning(report)
    if warning:
        lines += ["", warning]
    lines += ["", tabulate([[name, *(report["ratios"][b][name] for b in report["ratios"])] for name in ratio_names],
                           ["ratio (throughput)", *(f"batch {b}" for b in report["ratios"])], tablefmt="github")]
    if "tools" in report:
        tools = report["tools"]
        verify = tools["verify_py"]
        lines += ["", f"python -m paddle_resnet verify (subprocess): {verify['seconds']} s, exit code "
                      f"{verify['exit_code']}",
                  f"paddle.summary over all {tools['paddle_summary_all']['architectures']} architectures (our "
                  f"models): {tools['paddle_summary_all']['seconds']} s ({tools['paddle_summary_all']['build_seconds']}"
                  f" s building, {tools['paddle_summary_all']['summary_seconds']} s summarising)"]
    return "\n".join(lines)
