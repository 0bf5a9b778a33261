"""The benchmark's report: the machine, a table of every path and batch size, the ratios, the tool timings."""

from __future__ import annotations

from tabulate import tabulate

from .measure import EAGER, TRAIN, VISION_TRAIN


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
