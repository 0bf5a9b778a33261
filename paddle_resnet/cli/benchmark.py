"""``benchmark``: how fast each way of running a model is on this machine, measured side by side in one run."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import List

from .._checks import check_positive
from ..benchmark.machine import check_threads
from ..benchmark.measure import MAX_ROUNDS
from .._process import available_threads
from ..models.table import list_models
from ._args import parse_size, parser_for
from ._output import output_problem, write_output

DESCRIPTION = """\
Measure how fast each way of running a model is on this machine, side by side in one run, on the same random
images and the same weights, for every batch size:

  - eager forward, ours vs paddle.vision's (when it has the architecture), and one SGD training step of each
    (forward, cross-entropy, backward, update);
  - our model exported and run through Paddle Inference with oneDNN, with Paddle's plain CPU kernels, on
    Paddle 3 also as an old-IR .pdmodel program, and through ONNX Runtime.

Each path is warmed up, then timed in rounds (the eager pairs alternate run by run, so that load from other
processes hits both alike) until it has --repeats runs and --min-time seconds; the median gives images/s, and
p50/p90 are per-batch latencies. Every path's output is compared with our eager model's, so a fast but wrong
path shows. The report states the machine and its load, warns when other processes took a noticeable share of
the CPUs, and reads throughput as a fraction of the CPU's peak FP32 rate.

examples:
  {program} benchmark                         ResNet-50, batch 1 and 8 (~2 min on 2 cores, Paddle 3.3)
  {program} benchmark --model resnet18 --batch 1,8,32 --threads 2 --json results.json
"""


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
    parser = parser_for("benchmark", DESCRIPTION)
    parser.add_argument("--model", default="resnet50", choices=list_models(), metavar="NAME",
                        help="architecture (default resnet50)")
    parser.add_argument("--batch", type=_batch_sizes, default=[1, 8],
                        help="batch sizes, comma-separated (default 1,8)")
    parser.add_argument("--threads", type=int, default=available_threads(),
                        help="CPU threads for every path, at most the CPUs this process may run on (default: all "
                        f"of them, {available_threads()})")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per path at least (default 3)")
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds of timed runs per path at least "
                        f"(default 2), unless that takes more than {MAX_ROUNDS} runs")
    parser.add_argument("--input-size", type=parse_size, help="input height (and width, as HxW); default: the "
                        "architecture's")
    parser.add_argument("--time-tools", action="store_true",
                        help="also time the verify command and paddle.summary over every architecture (not "
                        "deployment speed; adds about a minute)")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT (atomically)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_threads("--threads", args.threads)
        check_positive("--repeats", args.repeats)
    except ValueError as error:
        parser.error(str(error))
    if not args.min_time >= 0:
        parser.error(f"--min-time={args.min_time!r}: expected seconds >= 0")
    if args.json and output_problem(args.json):
        parser.error(output_problem(args.json))  # now, not after minutes of measuring
    report = {"command": shlex.join(sys.argv), "arguments": list(sys.argv[1:] if argv is None else argv)}
    from ..benchmark import format_report, run_benchmark

    report.update(run_benchmark(args.model, args.batch, args.threads, args.repeats, args.min_time, args.input_size,
                                tools=args.time_tools, say=lambda line: print(line, flush=True)))
    print()
    print(format_report(report))
    print(f"\n({report['seconds']} s in all)")
    if args.json:
        problem = write_output(args.json, json.dumps(report, indent=1) + "\n")
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        print(f"wrote {args.json}")
    return 0
