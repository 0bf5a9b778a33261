"""How long a symbolic trace takes with this checkout's tracer and with an earlier commit's.

    python tools/bench_trace.py                      # vs faa6e7c (before every call became a row)
    python tools/bench_trace.py --base main --rounds 5

Not a test (timings depend on the machine and its load). It extracts the base commit's ``paddle_resnet`` with
``git archive`` and then, in alternating fresh processes, times for each checkout the median of several
``trace_graph(model, (1, 3, 224, 224), "symbolic")`` calls on ResNet-50 and ResNet-152 built under
``paddle.LazyGuard`` (what ``verify`` does), and prints the ratio after/before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import PIL.Image  # Paddle 2.6 wants Pillow first
import paddle
from paddle_resnet import create_model
from paddle_resnet.analysis.trace import trace_graph
results = {}
for name in sys.argv[2:]:
    with paddle.LazyGuard():
        model = create_model(name)
    trace_graph(model, (1, 3, 224, 224), "symbolic")  # warm-up (first-call discovery)
    times = []
    for _ in range(int(sys.argv[1])):
        start = time.perf_counter()
        trace_graph(model, (1, 3, 224, 224), "symbolic")
        times.append(time.perf_counter() - start)
    results[name] = sorted(times)[len(times) // 2]
print(json.dumps(results))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="faa6e7c", help="commit to compare with")
    parser.add_argument("--models", nargs="+", default=["resnet50", "resnet152"])
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per checkout (alternating)")
    parser.add_argument("--traces", type=int, default=9, help="timed traces per process")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base, "paddle_resnet"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        checkouts = {"before": base, "after": ROOT}
        samples = {name: {model: [] for model in args.models} for name in checkouts}
        for round_ in range(args.rounds):
            for name in (list(checkouts) if round_ % 2 == 0 else list(checkouts)[::-1]):
                completed = subprocess.run([sys.executable, "-c", _CHILD, str(args.traces), *args.models],
                                           cwd=checkouts[name], env=dict(os.environ, PYTHONPATH=str(checkouts[name])),
                                           capture_output=True, text=True, check=True)
                for model, seconds in json.loads(completed.stdout.strip().splitlines()[-1]).items():
                    samples[name][model].append(seconds)
        print(f"symbolic trace at 224x224; before = {args.base}, after = this checkout; median of {args.traces} "
              f"traces x {args.rounds} processes each, milliseconds")
        for model in args.models:
            before, after = (statistics.median(samples[name][model]) for name in checkouts)
            print(f"  {model:12s} before {before * 1e3:7.1f}  after {after * 1e3:7.1f}  "
                  f"after/before {after / before:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
