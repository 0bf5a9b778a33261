"""A miniature of Figure 6 of He et al. (2015): training plain-20/56 and ResNet-20/56 with the paper's CIFAR-10
recipe, scaled down to what 2 CPU cores do in minutes, and their training-loss curves in one plot.

    python tools/figure6_miniature.py --out runs/figure6 --plot docs/figure6_miniature.png --parallel

What it is: the ``he2015-cifar10`` recipe (batch 128 -> ``--batch-size``, 64k iterations -> ``--steps``, the
milestones at the same fractions, 50% and 75%; the learning rate scaled with the batch, 0.1 per 128 images) on a synthetic 10-class data set of 32x32 images that this script
draws (no download: ``make_data``), every net trained from the same seed on the same images. What it is not: CIFAR-10,
or a measurement of the paper's accuracies. It shows the degradation problem the paper's argument starts from, the
deeper plain net training worse than the shallower one while the residual nets do not, at the scale run here.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ("plain20", "plain56", "resnet20", "resnet56")


def make_data(root: Path, per_class: int, seed: int = 0) -> Path:
    """Ten classes of 32x32 RGB images: sinusoidal gratings at five orientations (0, 36, ... 144 degrees) and two
    spatial frequencies, with random phase, colours, contrast and pixel noise; a class is its orientation and
    frequency. Written as ``root/<class>/<i>.png``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:32, 0:32].astype(np.float64)
    for label in range(10):
        angle, period = math.pi * (label % 5) / 5, (4.0, 9.0)[label // 5]
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            jitter = rng.normal(0, 0.08)  # orientations overlap a little: the task is not trivially separable
            wave = np.sin(2 * math.pi * ((x * math.cos(angle + jitter) + y * math.sin(angle + jitter))
                                         / (period * rng.uniform(0.85, 1.15))) + rng.uniform(0, 2 * math.pi))
            low, high = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
            image = low + (high - low) * (wave[..., None] + 1) / 2 + rng.normal(0, 30, (32, 32, 3))
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"{i:04d}.png")
    return root


def run(model: str, data: Path, out: Path, args) -> list:
    from paddle_resnet.training import train
    from paddle_resnet.training.recipes import recipe_config

    milestones = (args.steps // 2, args.steps * 3 // 4)
    # the learning rate scaled with the batch (linear scaling rule): 0.1 per 128 images, the paper's
    lr = 0.1 * args.batch_size / 128
    config = recipe_config("he2015-cifar10", model=model, data=str(data), out=str(out / model), max_steps=args.steps,
                           milestones=milestones, batch_size=args.batch_size, lr=lr, num_workers=0,
                           threads=args.threads, seed=args.seed)
    start = time.process_time()
    result = train(config, stream=io.StringIO())
    print(f"{model}: {time.process_time() - start:.0f} s of CPU, final training loss "
          f"{result.history[-1]['train_loss']:.3f}", flush=True)
    return result.history


def read_history(path: Path) -> list:
    """The rows of a run's ``metrics.csv`` (what a run had written when it was stopped, for ``--plot-only``)."""
    with open(path, newline="") as file:
        return [{key: (int(value) if key in ("epoch", "step") else float(value) if value else None)
                 for key, value in row.items()} for row in csv.DictReader(file)]


def plot(histories: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axis, kind in zip(axes, ("plain", "resnet")):
        for model, history in histories.items():
            if model.startswith(kind):
                axis.plot([row["step"] for row in history], [row["train_loss"] for row in history],
                          marker="o", markersize=3, label=model.replace("resnet", "ResNet-").replace("plain", "plain-"))
        axis.set_title("plain networks" if kind == "plain" else "residual networks (option A)")
        axis.set_xlabel("iterations")
        axis.grid(alpha=0.3)
        axis.legend()
    axes[0].set_ylabel("training loss (mean over each epoch)")
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/figure6"), help="runs and data go here")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "figure6_miniature.png")
    parser.add_argument("--steps", type=int, default=200, help="iterations per net (the paper: 64000)")
    parser.add_argument("--batch-size", type=int, default=16, help="(the paper: 128; the rate is scaled with it)")
    parser.add_argument("--per-class", type=int, default=20, help="images per class (10 classes)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--parallel", action="store_true", help="train the nets in parallel processes")
    parser.add_argument("--plot-only", action="store_true",
                        help="plot the runs already in --out (their metrics.csv, as far as they got) without training")
    args = parser.parse_args(argv)
    data = args.out / "data"
    if not data.exists():
        make_data(data, args.per_class, args.seed)
    models = args.models.split(",")
    if args.plot_only:
        histories = {model: read_history(args.out / model / "metrics.csv") for model in models}
    elif args.parallel:  # one process per net: on a shared machine each gets its own share of the cores
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(len(models), mp_context=multiprocessing.get_context("spawn")) as pool:
            histories = dict(zip(models, pool.map(run, models, [data] * len(models), [args.out] * len(models),
                                                  [args] * len(models))))
    else:
        histories = {model: run(model, data, args.out, args) for model in models}
    table = args.plot.with_suffix(".csv")
    with open(table, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["model", "epoch", "step", "lr", "train_loss", "train_acc", "val_loss", "val_acc"])
        for model, history in histories.items():
            for row in history:
                writer.writerow([model] + [row[key] if isinstance(row[key], int) else f"{row[key]:.4f}"
                                           for key in ("epoch", "step", "lr", "train_loss", "train_acc", "val_loss",
                                                       "val_acc")])
    reached = sorted({history[-1]["step"] for history in histories.values()})
    steps = args.steps if reached == [args.steps] else f"{args.steps} planned, {'/'.join(map(str, reached))} reached"
    title = (f"Miniature of He et al. 2015, Figure 6 (not CIFAR-10): synthetic 10-class 32x32 gratings "
             f"({10 * args.per_class} images, 10% held out),\n{steps} iterations of batch {args.batch_size}, "
             f"he2015-cifar10 recipe scaled (lr {0.1 * args.batch_size / 128:g}, x0.1 at {args.steps // 2} and "
             f"{args.steps * 3 // 4})")
    plot(histories, args.plot, title)
    print(json.dumps({"plot": str(args.plot), "table": str(table)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
