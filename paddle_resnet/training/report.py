"""What a training run shows and leaves behind: a progress line per epoch, ``metrics.csv`` and ``metrics.png``."""

from __future__ import annotations

import csv
from typing import List, Optional

from .._files import atomic_path
from .._progress import Progress as _TaskProgress

#: Columns of ``metrics.csv``, one row per epoch (``step``: optimizer steps done after it); accuracies are
#: fractions, ``val_*`` empty without validation.
METRIC_COLUMNS = ("epoch", "step", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "images_per_sec", "seconds")


class Progress(_TaskProgress):
    """The progress of one epoch: batches done, running loss and accuracy, images per second.

    On a terminal the line is redrawn in place; elsewhere (a notebook, a log file, CI) a plain line with the time
    left in the epoch is printed every ``_progress.LOG_INTERVAL`` seconds, and the finished line once per epoch.
    """

    def __init__(self, epoch: int, epochs: int, batches: int, stream=None, **options):
        super().__init__(f"epoch {epoch}/{epochs}", batches, stream=stream, **options)

    def update(self, batch: int, loss: float, accuracy: float, images: int) -> None:  # type: ignore[override]
        """Show ``batch`` batches done with mean ``loss``, ``accuracy`` so far and ``images`` seen (all ranks)."""
        now = self.clock()
        rate = images / max(now - self.start, 1e-9)
        super().update(batch, f"loss {loss:.4f} acc {100 * accuracy:.1f}% {rate:.1f} img/s", now=now)


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
