"""What a training run shows and leaves behind: a progress line per epoch, ``metrics.csv`` and ``metrics.png``."""

from __future__ import annotations

import csv
import sys
import time
from typing import List, Optional

from .._files import atomic_path

#: Columns of ``metrics.csv``, one row per epoch; accuracies are fractions, ``val_*`` empty without validation.
METRIC_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "images_per_sec", "seconds")


class Progress:
    """A one-line progress bar for an epoch: batches done, running loss and accuracy, images per second.

    On a terminal the line is redrawn in place (at most every ``interval`` seconds); elsewhere (log files,
    CI) only the finished line is printed, once per epoch.
    """

    def __init__(self, epoch: int, epochs: int, batches: int, stream=None, interval: float = 0.2):
        self.prefix, self.batches = f"epoch {epoch}/{epochs}", batches
        self.stream = stream or sys.stdout
        self.live = getattr(self.stream, "isatty", lambda: False)()
        self.interval, self.start, self.last_draw = interval, time.perf_counter(), 0.0
        self.line = ""

    def update(self, batch: int, loss: float, accuracy: float, images: int) -> None:
        """Show ``batch`` batches done with mean ``loss``, ``accuracy`` so far and ``images`` seen (all ranks)."""
        elapsed = time.perf_counter() - self.start
        filled = round(20 * batch / max(1, self.batches))
        self.line = (f"{self.prefix} [{'#' * filled}{'.' * (20 - filled)}] {batch}/{self.batches} "
                     f"loss {loss:.4f} acc {100 * accuracy:.1f}% {images / max(elapsed, 1e-9):.1f} img/s")
        if self.live and (batch == self.batches or elapsed - self.last_draw >= self.interval):
            self.last_draw = elapsed
            self.stream.write("\r" + self.line)
            self.stream.flush()

    def close(self, suffix: str = "") -> None:
        """End the line, adding ``suffix`` (the validation result)."""
        self.stream.write(("\r" if self.live else "") + self.line + suffix + "\n")
        self.stream.flush()


def write_metrics_csv(path, history: List[dict]) -> None:
    """Write ``history`` (one dict per epoch with ``METRIC_COLUMNS`` keys) to ``path`` atomically."""
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=METRIC_COLUMNS)
        writer.writeheader()
        for row in history:
            writer.writerow({key: "" if row.get(key) is None else row[key] for key in METRIC_COLUMNS})


def plot_metrics(path, history: List[dict]) -> Optional[str]:
    """Draw loss and accuracy per epoch (training and validation) to the PNG ``path``.

    Returns ``None``, or a notice why no plot was drawn (matplotlib is an optional extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed; must precede pyplot's import
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return (f"{path} not written: matplotlib is not installed (pip install matplotlib, or "
                "pip install paddle_resnet[plot]); the numbers are in metrics.csv")
    epochs = [row["epoch"] for row in history]
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    for axes, key, label in ((loss_axes, "loss", "loss"), (accuracy_axes, "acc", "accuracy")):
        for split in ("train", "val"):
            values = [row.get(f"{split}_{key}") for row in history]
            if any(value is not None for value in values):
                axes.plot(epochs, [float("nan") if v is None else v for v in values], marker="o", label=split)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    return None
