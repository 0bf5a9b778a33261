"""Timing every way of running a model side by side, in one run, on the same images and weights.

Each path is warmed up, then timed in rounds (the eager pairs alternate run by run, so that load from other
processes hits both alike) until it has ``repeats`` runs and ``min_time`` seconds; the median gives images/s,
and p50/p90 are per-batch latencies. Every path's output is compared with our eager model's, so a fast but
wrong path shows.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import io
import itertools
import os
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List

import numpy as np

from .._quiet import batchnorm_note_silenced
from ..analysis.counting import count_macs
from ..models.table import list_models
from .machine import check_threads, cpu_seconds, load_average, machine_info, others_cores

#: Rounds ``--min-time`` may add beyond ``--repeats``: enough for a stable median of a fast path.
MAX_ROUNDS = 100


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
    from ..deploy.export import export, save_program
    from ..deploy.predictor import Predictor

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


def run_benchmark(name: str, batches: List[int], threads: int, repeats: int = 3, min_time: float = 2.0,
                  input_size=None, tools: bool = False, say=print) -> dict:
    """The whole benchmark: every path at every batch size (``measure_paths``), and with ``tools`` the timing of
    ``verify`` and ``paddle.summary`` over every architecture (not deployment speed, so only when asked); with
    the date, the machine's load before and after, and the CPU share other processes took meanwhile. ``say``
    receives progress lines."""
    load_before, cpu_before = load_average(), cpu_seconds()
    started = time.perf_counter()
    say(f"benchmarking {name}, batch {batches}, {threads} threads ...")
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "load_before": load_before}
    with batchnorm_note_silenced():  # the training-step rows would show Paddle's BatchNorm note
        report.update(measure_paths(name, batches, threads, repeats, min_time, input_size, say))
    if tools:
        say("  timing `python -m paddle_resnet verify` and paddle.summary over every architecture ...")
        report["tools"] = time_tools()
    report["load_after"] = load_average()
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["other_processes_cores"] = others_cores(cpu_before, cpu_seconds(), report["seconds"])
    return report


def measure_paths(name: str, batches: List[int], threads: int, repeats: int, min_time: float,
                  input_size=None, say=print) -> dict:
    """Measure every path for every batch size; return rows, ratios and the machine description."""
    import paddle

    check_threads("threads", threads)

    paddle.set_device("cpu")
    ours, vision, trainers = _models(name)
    config = ours.config
    height, width = input_size or (config.image_size, config.image_size)
    size = (config.in_channels, height, width)
    gflop = 2 * count_macs(ours, (1, *size)) / 1e9
    machine = machine_info(threads)
    peak = machine["peak_gflops"]
    rows, ratios = [], {}
    from ..deploy.compare import max_relative_difference

    with tempfile.TemporaryDirectory(prefix="paddle_resnet_benchmark_") as directory:
        say("  exporting for Paddle Inference and ONNX Runtime ...")
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
                    say(f"  measured {path}, batch {batch}: {rows[-1]['images_per_s']} images/s")
            rows += [{"path": path, "batch": batch, "note": reason} for path, reason in predictors.items()
                     if isinstance(reason, str)]
            ratios[str(batch)] = _ratios({r["path"]: r for r in rows if r["batch"] == batch and "images_per_s" in r})
    # Under virtualisation /proc/cpuinfo shows the nominal clock; a path faster than the peak at that clock
    # proves the cores run faster (boost), and by how much at least.
    best = max((r["gflops"] for r in rows if "gflops" in r), default=0)
    if peak is not None and best > peak:
        machine["clock_implied_ghz_at_least"] = round(best / machine["fp32_flops_per_cycle"], 2)
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
    """Wall time of a full ``python -m paddle_resnet verify`` (a subprocess, as a user runs it) and of
    ``paddle.summary`` over every architecture."""
    import paddle

    from ..builders import create_model

    result = {}
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "paddle_resnet", "verify"], capture_output=True, text=True)
    result["verify_py"] = {"seconds": round(time.perf_counter() - start, 2), "exit_code": completed.returncode}
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
