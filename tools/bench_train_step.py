"""Training speed of the loop before and after a change, in one run: ``train_one_epoch`` of two source trees.

    git archive <commit> | tar -x -C /tmp/before
    python tools/bench_train_step.py --before /tmp/before --after . --rounds 5

Each measurement runs in a fresh process with ``PYTHONPATH`` set to one tree: resnet20 (32x32, batch 32, 1 CPU
thread) trained with the default recipe (SGD, cosine schedule with warm-up) for ``--steps`` steps on fixed
random batches, after two untimed steps. The trees alternate round by round (in a shuffled order each round), so
load from other processes hits both alike; the table gives the median images/s of each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

MEASURE = r"""
import json, sys, time
import numpy as np
import paddle
paddle.set_device("cpu")
paddle.base.core.set_num_threads(1)
from paddle_resnet import create_model
from paddle_resnet.training import TrainConfig, loop
steps = int(sys.argv[1])
paddle.seed(0)
model = create_model("resnet20")
config = TrainConfig(model="resnet20", data="x", epochs=2).resolved()
scheduler = loop.build_schedule(config, steps + 2)
optimizer = loop.build_optimizer(config, model, scheduler)
scaler = paddle.amp.GradScaler(enable=False)
rng = np.random.default_rng(0)
batches = [(paddle.to_tensor(rng.standard_normal((32, 3, 32, 32)).astype("float32")),
            paddle.to_tensor(rng.integers(0, 10, 32).astype("int64"))) for _ in range(steps + 2)]
loop.train_one_epoch(model, batches[:2], optimizer, scheduler, scaler)
start = time.perf_counter()
loop.train_one_epoch(model, batches[2:], optimizer, scheduler, scaler)
print(json.dumps({"images_per_sec": 32 * steps / (time.perf_counter() - start)}))
"""


def measure(tree: Path, steps: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    out = subprocess.run([sys.executable, "-c", MEASURE, str(steps)], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["images_per_sec"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=Path("."))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    results = {"before": [], "after": []}
    for _ in range(args.rounds):
        order = list(results)
        random.shuffle(order)
        for name in order:
            results[name].append(measure(getattr(args, name), args.steps))
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, values in results.items():
        print(f"{name:>6}: median {medians[name]:.1f} images/s (min {min(values):.1f}, max {max(values):.1f}, "
              f"{len(values)} runs)")
    print(f"after / before: {medians['after'] / medians['before']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
