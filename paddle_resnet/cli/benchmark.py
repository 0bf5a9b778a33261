"""``benchmark``: how fast each way of running a model is on this machine, measured side by side in one run.

    python scripts/benchmark.py                              # ResNet-50, batch 1 and 8 (~2 min on 2 cores, Paddle 3.3)
    python scripts/benchmark.py --model resnet18 --batch 1,8,32 --threads 2 --json results.json

For every batch size, on the same random images and the same weights:

* eager forward, ours vs ``paddle.vision`` (when it has the architecture), and one SGD training step of each
  (forward, cross-entropy, backward, update);
* our model exported and run through Paddle Inference with oneDNN, with Paddle's plain CPU kernels, on
  Paddle 3 also as an old-IR ``.pdmodel`` program, and through ONNX Runtime.

Each path is warmed up, then timed in rounds (the eager pairs alternate run by run, so that load from other
processes hits both alike) until it has ``--repeats`` runs and ``--min-time`` seconds; the median gives
images/s, and p50/p90 are per-batch latencies. Every path's output is compared with our eager model's, so a
fast but wrong path shows. Also timed: ``scripts/verify.py`` (as a subprocess) and ``paddle.summary`` over
every architecture (our models). The report states the machine and its load before and after, and reads
throughput as a fraction of the CPU's peak FP32 rate (cores x clock x vector FMA lanes x 2 FLOPs x FMA pipes).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import io
import itertools
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
from tabulate import tabulate

from ..atomic import atomic_write_text
from ..config import check_positive, list_models
from ..export import max_relative_difference
from ..inference import available_threads
from .summary import parse_size

#: FMA pipes per core assumed by the peak rate: two full-width pipes (AMD Zen 5, Intel Xeon Gold 6xxx /
#: Platinum, every AVX2 core since Haswell / Zen 2). Zen 4 and some Xeons have half that for AVX-512.
FMA_PIPES = 2
#: Rounds ``--min-time`` may add beyond ``--repeats``: enough for a stable median of a fast path.
MAX_ROUNDS = 100


def _batch_sizes(text: str) -> List[int]:
    """``1,8`` -> [1, 8]."""
    try:
        sizes = [int(part) for part in text.split(",")]
        for size in sizes:
            check_positive("batch size", size)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected positive batch sizes like 1,8") from None
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50", choices=list_models(), metavar="NAME",
                        help="architecture (default resnet50)")
    parser.add_argument("--batch", type=_batch_sizes, default=[1, 8],
                        help="batch sizes, comma-separated (default 1,8)")
    parser.add_argument("--threads", type=int, default=available_threads(),
                        help=f"CPU threads for every path (default: all available, {available_threads()})")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per path at least (default 3)")
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds of timed runs per path at least "
                        f"(default 2), unless that takes more than {MAX_ROUNDS} runs")
    parser.add_argument("--input-size", type=parse_size, help="input height (and width, as HxW); default: the "
                        "architecture's")
    parser.add_argument("--skip-tools", action="store_true",
                        help="do not time scripts/verify.py and paddle.summary over every architecture")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT (atomically)")
    return parser


# ----------------------------------------------------------------------------------------------- machine

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


def _load() -> Optional[List[float]]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _cpu_seconds():
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its children) so far."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), sum(os.times()[:4])


def _others_cores(before, after, seconds: float) -> Optional[float]:
    """Cores that other processes kept busy on average between two ``_cpu_seconds`` readings."""
    if before is None or after is None:
        return None
    return round(max(0.0, (after[0] - before[0]) - (after[1] - before[1])) / seconds, 2)


# ----------------------------------------------------------------------------------------------- timing

def time_paths(paths: Dict[str, Callable[[], object]], repeats: int, min_time: float) -> Dict[str, List[float]]:
    """Seconds per call of each function: one untimed warm-up call each, then rounds that call each function
    once, until there are ``repeats`` rounds and ``min_time`` seconds per function, or ``MAX_ROUNDS`` rounds
    if the time takes more (never fewer than ``repeats``)."""
    for run in paths.values():
        run()
    times = {name: [] for name in paths}
    for rounds in itertools.count(1):
        for name, run in paths.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
        if rounds >= repeats and (rounds >= MAX_ROUNDS or min(sum(t) for t in times.values()) >= min_time):
            return times


def _row(path: str, batch: int, seconds: List[float], gflop_per_image: float, peak: float, error) -> dict:
    median = float(np.median(seconds))
    images_per_s = batch / median
    return {"path": path, "batch": batch, "runs": len(seconds), "images_per_s": round(images_per_s, 2),
            "p50_ms": round(1e3 * median, 2), "p90_ms": round(1e3 * float(np.percentile(seconds, 90)), 2),
            "gflops": round(images_per_s * gflop_per_image, 1),
            "fraction_of_peak": round(images_per_s * gflop_per_image / peak, 3) if peak else None,
            "max_rel_diff": None if error is None else float(f"{error:.2g}")}


# ----------------------------------------------------------------------------------------------- paths

EAGER, VISION = "ours eager", "paddle.vision eager"
TRAIN, VISION_TRAIN = "ours train step (SGD)", "paddle.vision train step (SGD)"
ONEDNN, OLD_IR, PLAIN, ORT = ("Paddle Inference, oneDNN", "Paddle Inference, oneDNN, old-IR .pdmodel",
                              "Paddle Inference, plain CPU kernels", "ONNX Runtime")


def _models(name: str):
    """Our model in eval mode, paddle.vision's (same weights) or None, and fresh copies of both for training."""
    import paddle.vision.models as vision_models

    from ..builders import create_model

    ours = create_model(name)
    ours.eval()
    state = ours.state_dict()

    def same_weights(build):
        model = build()
        model.set_state_dict(state)
        return model

    vision_build = getattr(vision_models, name, None)
    vision = same_weights(vision_build) if vision_build else None
    if vision is not None:
        vision.eval()
    trainers = {TRAIN: same_weights(lambda: create_model(name))}
    if vision_build:
        trainers[VISION_TRAIN] = same_weights(vision_build)
    return ours, vision, trainers


def _eager_threads(threads: int) -> None:
    """Set the eager CPU kernels' threads. Eager Paddle uses one thread unless told otherwise, and running a
    Paddle Inference predictor sets it back to one, so every eager run sets it again (it costs nothing)."""
    import paddle

    paddle.base.core.set_num_threads(threads)


def _forward(model, images, threads):
    import paddle

    tensor = paddle.to_tensor(images)

    def run():
        _eager_threads(threads)
        with paddle.no_grad():
            return model(tensor).numpy()
    return run


def _train_step(model, images, num_classes, threads):
    import paddle
    import paddle.nn.functional as F

    model.train()
    optimizer = paddle.optimizer.SGD(learning_rate=1e-3, parameters=model.parameters())
    tensor = paddle.to_tensor(images)
    labels = paddle.to_tensor(np.random.RandomState(1).randint(0, num_classes, (len(images), 1)).astype("int64"))

    def run():
        _eager_threads(threads)
        loss = F.cross_entropy(model(tensor), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        return float(loss)
    return run


def _exported(model, directory: str, input_size, threads: int) -> Dict[str, object]:
    """Export ``model`` in every form this install supports: {path name: Predictor, or why it is missing}.

    A path that cannot be built here (no oneDNN in this Paddle, no ONNX packages, a failed conversion) gets the
    reason as its row's note; the other paths are still measured.
    """
    from ..export import export, save_program
    from ..inference import Predictor

    program = export(model, os.path.join(directory, "model"), input_size)[-1]
    predictors = {}

    def add(path, build):
        try:
            predictors[path] = build()
        except (ImportError, RuntimeError, ValueError) as error:
            predictors[path] = f"not available: {error}"

    def old_ir_program():
        old = os.path.join(directory, "old_ir", "model")
        os.makedirs(os.path.dirname(old))
        files = save_program(copy.deepcopy(model), old, input_size, old_ir=True)  # a copy, as export() does
        return next(f for f in files if f.endswith(".pdmodel"))

    add(ONEDNN, lambda: Predictor(program, device="cpu", threads=threads, onednn=True))
    if program.endswith(".json"):  # Paddle 3: also the older program format, to compare the two IRs
        add(OLD_IR, lambda: Predictor(old_ir_program(), device="cpu", threads=threads, onednn=True))
    add(PLAIN, lambda: Predictor(program, device="cpu", threads=threads, onednn=False))
    add(ORT, lambda: Predictor(export(model, os.path.join(directory, "onnx", "model"), input_size, format="onnx")[-1],
                               device="cpu", threads=threads))
    return predictors


def run_benchmark(name: str, batches: List[int], threads: int, repeats: int, min_time: float,
                  input_size=None) -> dict:
    """Measure every path for every batch size; return rows, ratios and the machine description."""
    import paddle

    from ..counting import count_macs

    paddle.set_device("cpu")
    ours, vision, trainers = _models(name)
    config = ours.config
    height, width = input_size or (config.image_size, config.image_size)
    size = (config.in_channels, height, width)
    gflop = 2 * count_macs(ours, (1, *size)) / 1e9
    machine = machine_info(threads)
    peak = machine["peak_gflops"]
    rows, ratios = [], {}
    with tempfile.TemporaryDirectory(prefix="paddle_resnet_benchmark_") as directory:
        start = time.perf_counter()
        predictors = _exported(ours, directory, size, threads)
        export_seconds = time.perf_counter() - start
        for batch in batches:
            images = np.random.RandomState(batch).standard_normal((batch, *size)).astype("float32")
            reference = _forward(ours, images, threads)()
            groups = [{EAGER: _forward(ours, images, threads),
                       **({VISION: _forward(vision, images, threads)} if vision else {})},
                      {path: _train_step(model, images, config.num_classes or 1, threads)
                       for path, model in trainers.items()}]
            groups += [{path: (lambda p=predictor: p(images))} for path, predictor in predictors.items()
                       if not isinstance(predictor, str)]
            errors = {VISION: max_relative_difference(_forward(vision, images, threads)(), reference)
                      if vision else None}
            errors.update({path: max_relative_difference(p(images), reference) for path, p in predictors.items()
                           if not isinstance(p, str)})
            for group in groups:
                for path, seconds in time_paths(group, repeats, min_time).items():
                    rows.append(_row(path, batch, seconds, gflop, peak, errors.get(path)))
                    print(f"  measured {path}, batch {batch}: {rows[-1]['images_per_s']} images/s", flush=True)
            rows += [{"path": path, "batch": batch, "note": reason} for path, reason in predictors.items()
                     if isinstance(reason, str)]
            ratios[str(batch)] = _ratios({r["path"]: r for r in rows if r["batch"] == batch and "images_per_s" in r})
    # Under virtualisation /proc/cpuinfo shows the nominal clock; a path faster than the peak at that clock
    # proves the cores run faster (boost), and by how much at least.
    best = max((r["gflops"] for r in rows if "gflops" in r), default=0)
    per_ghz = threads * machine["fp32_lanes"] * 2 * FMA_PIPES
    if best > peak:
        machine["clock_implied_ghz_at_least"] = round(best / per_ghz, 2)
    return {"model": name, "input_size": list(size), "gflop_per_image": round(gflop, 3), "threads": threads,
            "export_seconds": round(export_seconds, 2), "machine": machine, "rows": rows, "ratios": ratios}


def _ratios(by_path: dict) -> dict:
    """Throughput ratios measured in this run (None where a path is missing)."""
    def ratio(a, b):
        if a in by_path and b in by_path:
            return round(by_path[a]["images_per_s"] / by_path[b]["images_per_s"], 2)
        return None

    fastest = max(by_path.values(), key=lambda r: r["images_per_s"])
    return {
        "ours / paddle.vision, eager forward": ratio(EAGER, VISION),
        "ours / paddle.vision, train step": ratio(TRAIN, VISION_TRAIN),
        "Paddle Inference oneDNN / ours eager": ratio(ONEDNN, EAGER),
        "Paddle Inference oneDNN / ONNX Runtime": ratio(ONEDNN, ORT),
        "Paddle Inference oneDNN / oneDNN old-IR": ratio(ONEDNN, OLD_IR),
        "Paddle Inference oneDNN / plain CPU kernels": ratio(ONEDNN, PLAIN),
        "fastest path": fastest["path"],
        "fastest path, fraction of peak FP32": fastest["fraction_of_peak"],
    }


# ----------------------------------------------------------------------------------------------- tools

def time_tools() -> dict:
    """Wall time of a full ``scripts/verify.py`` (subprocess) and of ``paddle.summary`` over every architecture."""
    import paddle

    from ..builders import create_model

    result = {}
    verify = Path(__file__).resolve().parents[2] / "scripts" / "verify.py"
    if verify.is_file():
        start = time.perf_counter()
        completed = subprocess.run([sys.executable, str(verify)], capture_output=True, text=True)
        result["verify_py"] = {"seconds": round(time.perf_counter() - start, 2), "exit_code": completed.returncode}
    else:
        result["verify_py"] = {"note": f"not available: {verify} does not exist (installed package?)"}
    build = summary = 0.0
    for name in list_models():
        start = time.perf_counter()
        model = create_model(name)
        built = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            paddle.summary(model, input_size=model.config.input_size)
        build, summary = build + built - start, summary + time.perf_counter() - built
    result["paddle_summary_all"] = {"architectures": len(list_models()), "models": "ours (paddle_resnet)",
                                    "build_seconds": round(build, 2), "summary_seconds": round(summary, 2),
                                    "seconds": round(build + summary, 2)}
    return result


# ----------------------------------------------------------------------------------------------- report

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
        lines.append(f"note: the fastest path exceeds the peak at the nominal {machine['clock_mhz'] / 1e3:.2f} GHz "
                     "(what /proc/cpuinfo shows, e.g. under virtualisation): the cores ran at "
                     f">= {machine['clock_implied_ghz_at_least']} GHz (boost), so read '% of peak' as relative only.")
    ratio_names = list(next(iter(report["ratios"].values())))
    lines += ["", tabulate([[name, *(report["ratios"][b][name] for b in report["ratios"])] for name in ratio_names],
                           ["ratio (throughput)", *(f"batch {b}" for b in report["ratios"])], tablefmt="github")]
    if "tools" in report:
        tools = report["tools"]
        verify = tools["verify_py"]
        lines += ["", "scripts/verify.py (subprocess): " + (f"{verify['seconds']} s, exit code {verify['exit_code']}"
                                                             if "seconds" in verify else verify["note"]),
                  f"paddle.summary over all {tools['paddle_summary_all']['architectures']} architectures (our "
                  f"models): {tools['paddle_summary_all']['seconds']} s ({tools['paddle_summary_all']['build_seconds']}"
                  f" s building, {tools['paddle_summary_all']['summary_seconds']} s summarising)"]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_positive("--threads", args.threads)
        check_positive("--repeats", args.repeats)
    except ValueError as error:
        parser.error(str(error))
    if not args.min_time >= 0:
        parser.error(f"--min-time={args.min_time!r}: expected seconds >= 0")
    # Paddle notes on every BatchNorm in training mode that it tracks running statistics: known, and noise here.
    warnings.filterwarnings("ignore", message="When training, we now always track")
    load_before, cpu_before = _load(), _cpu_seconds()
    started = time.perf_counter()
    print(f"benchmarking {args.model}, batch {args.batch}, {args.threads} threads ...", flush=True)
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "command": shlex.join(sys.argv), "arguments": list(sys.argv[1:] if argv is None else argv),
              "load_before": load_before}
    report.update(run_benchmark(args.model, args.batch, args.threads, args.repeats, args.min_time, args.input_size))
    if not args.skip_tools:
        print("  timing scripts/verify.py and paddle.summary over every architecture ...", flush=True)
        report["tools"] = time_tools()
    report["load_after"] = _load()
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["other_processes_cores"] = _others_cores(cpu_before, _cpu_seconds(), report["seconds"])
    print()
    print(format_report(report))
    print(f"\n({report['seconds']} s in all)")
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0
