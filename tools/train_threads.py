"""Measure CPU training throughput for each thread setting, to choose ``training.config.DEFAULT_THREADS``.

    python tools/train_threads.py --repeats 3 --steps 4 --json threads.json     # ~10 min on 2 cores

What it measures: training steps (forward, cross-entropy, backward, SGD update) of resnet18, batch 16, 160x160,
fed by the training loop's own DataLoader (JPEG decoding, random resized crop and flip in ``--workers`` loader
processes competing for the same cores), with the CPU thread count left at Paddle's default or set to 1, 2 or
every available core. Each measurement runs in a fresh process (so "default" really is Paddle's default and no
setting leaks into the next), after two untimed warm-up steps; settings are interleaved in a shuffled order
each round, so that load from other processes hits all of them alike. The table gives the median images/s per
setting and the spread, and the CPU share other processes used during the run (a busy machine makes the
numbers worthless: run it on a quiet one).

Change ``DEFAULT_THREADS`` in ``paddle_resnet/training/config.py`` to the winner (``"all"``, ``"paddle"`` or a
number), and record the table in docs/performance.md ("Threads for training").
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _measure(args) -> dict:
    """One measurement in this (fresh) process: images/s over ``args.steps`` timed steps."""
    import paddle
    import paddle.nn.functional as F

    from paddle_resnet import create_model
    from paddle_resnet.training import TrainConfig
    from paddle_resnet.training.data import EpochBatchSampler, ImageDataset, list_image_folder, train_transform
    from paddle_resnet.training.factories import build_optimizer, build_schedule

    if args.threads != "default":
        paddle.base.core.set_num_threads(int(args.threads))
    paddle.seed(0)
    samples = list_image_folder(args.child).candidates
    config = TrainConfig(model=args.model, batch_size=args.batch_size, lr=0.01, weight_decay=1e-4, warmup_epochs=0,
                         epochs=1)
    model = create_model(args.model, num_classes=len({label for _, label in samples}))
    sampler = EpochBatchSampler(len(samples), args.batch_size, seed=0)
    schedule = build_schedule(config, steps_per_epoch=len(sampler))
    optimizer = build_optimizer(config, model, schedule)
    loader = paddle.io.DataLoader(ImageDataset(samples, train_transform(args.input_size), seed=0),
                                  batch_sampler=sampler, num_workers=int(args.workers))
    model.train()
    times, start = [], time.perf_counter()
    for step, (images, labels) in enumerate(loader):
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        float(loss)  # wait for the step to finish
        now = time.perf_counter()
        times.append(now - start)
        start = now
        if step + 1 == 2 + args.steps:
            break
    timed = times[2:]  # after two warm-up steps (kernel selection, loader start-up)
    return {"images_per_s": args.batch_size * len(timed) / sum(timed), "steps": len(timed)}


def _make_images(folder: Path, count: int, size: int = 200) -> None:
    """``count`` random-texture JPEGs in two class folders, about the size of a phone photo scaled down."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        path = folder / f"class{i % 2}" / f"{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path, quality=90)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--input-size", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per measurement (default 4)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per setting (default 3)")
    parser.add_argument("--threads", default="default,1,2,all", help="settings, comma-separated: default (Paddle's "
                        "own), a number, or all (every available core); default: default,1,2,all")
    parser.add_argument("--workers", default="0,2", help="DataLoader worker processes to combine with each "
                        "thread setting, comma-separated (default 0,2; training's default is 2)")
    parser.add_argument("--json", metavar="OUT", help="also write every measurement as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: measure once in this process
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args)))
        return 0

    from paddle_resnet.benchmark.machine import cpu_seconds, load_average, others_cores
    from paddle_resnet.deploy.predictor import available_threads

    cores = available_threads()
    threads = list(dict.fromkeys(str(cores) if t == "all" else t for t in args.threads.split(",")))
    settings = [(t, int(w)) for t in threads for w in args.workers.split(",")]
    results = {setting: [] for setting in settings}
    with tempfile.TemporaryDirectory(prefix="train_threads_") as folder:
        _make_images(Path(folder), (2 + args.steps) * args.batch_size)
        load_before, before, started = load_average(), cpu_seconds(), time.perf_counter()
        print(f"{len(settings)} settings x {args.repeats} repeats, {args.model} batch {args.batch_size} at "
              f"{args.input_size} px, {args.steps} timed steps each, {cores} available cores", flush=True)
        order = random.Random(0)
        for repeat in range(args.repeats):
            for threads_setting, workers in order.sample(settings, len(settings)):
                command = [sys.executable, __file__, "--child", folder, "--threads", threads_setting,
                           "--workers", str(workers), "--model", args.model, "--input-size", str(args.input_size),
                           "--batch-size", str(args.batch_size), "--steps", str(args.steps)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                rate = json.loads(done.stdout.strip().splitlines()[-1])["images_per_s"]
                results[(threads_setting, workers)].append(rate)
                print(f"  round {repeat + 1}: threads {threads_setting}, {workers} workers: {rate:.2f} img/s",
                      flush=True)
        seconds = time.perf_counter() - started
        others = others_cores(before, cpu_seconds(), seconds)
    print(f"\n{'threads':>8} {'workers':>8} {'median img/s':>13} {'min':>7} {'max':>7}")
    for (threads_setting, workers), rates in results.items():
        print(f"{threads_setting:>8} {workers:>8} {statistics.median(rates):>13.2f} {min(rates):>7.2f} "
              f"{max(rates):>7.2f}")
    print(f"\nload average before {load_before}, after {load_average()}; other processes kept {others} of "
          f"{cores} CPUs busy on average ({seconds:.0f} s in all)")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"arguments": sys.argv[1:], "available_cores": cores, "other_processes_cores": others,
             "seconds": round(seconds, 1), "results": [{"threads": t, "workers": w, "images_per_s": rates}
                                                       for (t, w), rates in results.items()]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
