"""Top-1 and top-5 error of a classifier, with the ResNet paper's three ways of testing (section 3.4).

* ``single``: one view per image, the evaluation transform ``predict`` uses (short side resized to
  ``size / 0.875``, 256 for 224, then the centre ``size`` square).
* ``10crop``: the "standard 10-crop testing" of Krizhevsky et al. (2012) the paper follows: after the same
  resize, the four corner crops and the centre crop of ``size`` pixels, and their horizontal mirror images. For
  CIFAR-size inputs the same rule scales with the input: 32-pixel crops from a 37-pixel resize.
* ``multiscale``: the paper's fully-convolutional testing: the whole image, its shorter side resized to each of
  ``{224, 256, 384, 480, 640}`` (scaled by ``size / 224`` for other input sizes: 32, 37, 55, 69, 91 for CIFAR),
  run through the network at that size (global average pooling makes any size work; it equals the paper's
  convolutional classifier averaged over positions), the scores averaged over the scales. A longer side beyond
  ``MAX_SIDE`` pixels is centre-cropped to it (a bound on the memory one image may take).

Scores are softmax probabilities, averaged over an image's views. An export runs at the one input size it
was exported for, so multi-scale testing needs a run or a weights file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import numpy as np

from .._checks import check_choice, check_positive
from .sources import EvaluationError, LabelledImages, LoadedModel, load_data, load_model, model_labels, single_view

VIEWS = ("single", "10crop", "multiscale")
#: The shorter sides of the paper's multi-scale testing, for 224-pixel inputs (section 3.4).
PAPER_SCALES = (224, 256, 384, 480, 640)
#: Longest image side fed to the network in multi-scale testing (the longer side is centre-cropped to it).
MAX_SIDE = 4096
#: Bounds on what a caller may ask for at once: images per batch, scales per image.
MAX_BATCH, MAX_SCALES = 256, 16


@dataclass
class Evaluation:
    """What ``evaluate`` measured.

    Attributes:
        views: ``"single"``, ``"10crop"`` or ``"multiscale"``; ``scales`` the shorter sides used (multiscale).
        images: how many images were scored; ``top1_error`` and ``top5_error`` fractions of them (``top5_error``
            is None for a model of 5 classes or fewer, where it is 0 by definition).
        classes: the model's class names (``class <i>`` where it has none), one per output.
        confusion: ``int64 [K, K]``: row = true class, column = predicted class (top-1).
        predictions: the top-1 class index of each image, in data order; ``labels``: their true class index.
    """

    model: str
    data: str
    views: str
    scales: List[int]
    images: int
    top1_error: float
    top5_error: Optional[float]
    classes: List[str]
    confusion: np.ndarray
    predictions: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)

    def per_class(self) -> List[dict]:
        """``{"class", "images", "top1_accuracy"}`` for each class that has images, in class order."""
        totals = self.confusion.sum(axis=1)
        return [{"class": self.classes[i], "images": int(totals[i]),
                 "top1_accuracy": float(self.confusion[i, i] / totals[i])} for i in np.flatnonzero(totals)]

    def to_dict(self) -> dict:
        """The report as JSON-able data (without the per-image predictions and the confusion matrix)."""
        return {"model": self.model, "data": self.data, "views": self.views, "scales": self.scales,
                "images": self.images, "top1_error": self.top1_error, "top5_error": self.top5_error,
                "per_class": self.per_class()}

    def __str__(self) -> str:
        top5 = "n/a (5 classes or fewer)" if self.top5_error is None else f"{100 * self.top5_error:.2f}%"
        views = self.views + (f" (shorter sides {', '.join(map(str, self.scales))})" if self.scales else "")
        lines = [f"{self.model} on {self.data}: {self.images} images, {views}",
                 f"top-1 error {100 * self.top1_error:.2f}%   top-5 error {top5}", "per class (top-1 accuracy):"]
        lines += [f"  {row['class']:<24} {100 * row['top1_accuracy']:6.2f}%  of {row['images']}"
                  for row in self.per_class()]
        return "\n".join(lines)

    def confusion_csv(self) -> str:
        """The confusion matrix as CSV: a header of predicted classes, one row per true class."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["true \\ predicted", *self.classes])
        for name, row in zip(self.classes, self.confusion):
            writer.writerow([name, *row.tolist()])
        return out.getvalue()


def evaluate(model: str, data: str, views: str = "single", architecture: Optional[str] = None,
             input_size: Optional[int] = None, scales: Optional[Sequence[int]] = None, batch_size: int = 32,
             limit: Optional[int] = None, progress: Optional[Callable[[int, int], None]] = None) -> Evaluation:
    """Top-1 and top-5 error of ``model`` on ``data``.

    Args:
        model: a training run (its ``--out`` folder), an export (folder, prefix or model file), or a weights
            file, whose ``architecture`` must then be given.
        data: an image folder (``data/<class>/<image>``; class folders are matched to the model's class names
            when it has them) or a CIFAR source (``cifar10:PATH``: its test split).
        views: ``"single"``, ``"10crop"`` or ``"multiscale"`` (see the module's description).
        input_size: the single view's size; by default the run's, the export's or the architecture's.
        scales: multiscale's shorter sides (default: ``PAPER_SCALES`` scaled by ``input_size / 224``).
        batch_size: images per batch (single and 10-crop views), at most ``MAX_BATCH``.
        limit: only the first ``limit`` images.
        progress: called as ``progress(done, total)`` after each batch.
    """
    check_choice("views", views, VIEWS)
    check_positive("batch_size", batch_size)
    if batch_size > MAX_BATCH:
        raise ValueError(f"batch_size={batch_size}: expected at most {MAX_BATCH} images per batch")
    loaded = load_model(model, architecture, input_size)
    if views != "single" and loaded.single_view_only:
        raise EvaluationError(f"views={views!r}: {loaded.single_view_only}; evaluate it with views='single'")
    scales = _scales(views, scales, loaded)
    images = load_data(data, limit)
    labels = model_labels(loaded, images)
    scores = np.zeros((len(images), loaded.outputs), dtype=np.float64)
    if views == "multiscale":
        transforms = [_whole_image(loaded.preprocess(), scale) for scale in scales]
        step = 1
    else:
        single = loaded.view or single_view(loaded.preprocess())  # a run's own validation view, where it has one
        transforms = [single if views == "single" else ten_crops(loaded.preprocess())]
        step = batch_size
    for start in range(0, len(images), step):
        indices = range(start, min(start + step, len(images)))
        for transform in transforms:
            arrays = images.read(indices, transform)
            failed = [(images.name(i), a) for i, a in zip(indices, arrays) if isinstance(a, str)]
            if failed:
                raise EvaluationError(f"{failed[0][0]}: {failed[0][1]}; every image of an evaluation must be "
                                      "readable (remove or fix it)")
            batch = np.stack(arrays)
            views_per_image = batch.shape[1] if batch.ndim == 5 else 1
            probabilities = loaded.scores(batch.reshape(-1, *batch.shape[-3:]))
            scores[indices.start:indices.stop] += probabilities.reshape(len(indices), views_per_image, -1).mean(1)
        if progress:
            progress(indices.stop, len(images))
    return _result(loaded, images, views, scales, scores / len(transforms), labels)


def _scales(views: str, scales: Optional[Sequence[int]], loaded: LoadedModel) -> List[int]:
    if views != "multiscale":
        if scales:
            raise ValueError(f"scales={list(scales)}: only multi-scale testing (views='multiscale') uses scales")
        return []
    if loaded.fixed_size:
        raise EvaluationError(f"{loaded.source}: an export runs only at the input size it was exported for "
                              f"({loaded.input_size}x{loaded.input_size}); multi-scale testing needs the model "
                              "itself: give the training run or a weights file (with --model)")
    if scales is None:
        scales = sorted({round(side * loaded.input_size / 224) for side in PAPER_SCALES})
    scales = list(scales)
    if not scales or len(scales) > MAX_SCALES or not all(isinstance(s, int) and 8 <= s <= MAX_SIDE for s in scales):
        raise ValueError(f"scales={scales}: expected 1 to {MAX_SCALES} shorter sides of 8 to {MAX_SIDE} pixels")
    return scales


def _result(loaded: LoadedModel, images: LabelledImages, views, scales, scores: np.ndarray, labels) -> Evaluation:
    classes = loaded.classes or (images.classes if len(images.classes) == loaded.outputs
                                 else [f"class {i}" for i in range(loaded.outputs)])
    order = np.argsort(-scores, axis=1, kind="stable")
    predictions = order[:, 0]
    top1 = float(np.mean(predictions != labels))
    top5 = None if loaded.outputs <= 5 else float(np.mean(~(order[:, :5] == labels[:, None]).any(axis=1)))
    confusion = np.zeros((loaded.outputs, loaded.outputs), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    return Evaluation(loaded.source, images.source, views, list(scales), len(images), top1, top5, list(classes),
                      confusion, predictions, labels)


def _normalise(preprocess: dict) -> Callable:
    from paddle.vision import transforms as T

    return T.Compose([T.Transpose(), T.Normalize(mean=preprocess["mean"], std=preprocess["std"])])


def ten_crops(preprocess: dict) -> Callable:
    """The 10-crop transform for ``preprocess`` (``describe_preprocess``): a PIL RGB image in, float32
    ``[10, C, H, W]`` out: centre, top-left, top-right, bottom-left, bottom-right crops, then their mirror
    images. The centre crop is exactly the single view."""
    from paddle.vision import transforms as T
    from PIL import Image

    resize = T.Resize(preprocess["resize_short"], interpolation=preprocess["interpolation"])
    centre, normalise = T.CenterCrop(tuple(preprocess["crop"])), _normalise(preprocess)
    height, width = preprocess["crop"]

    def transform(image):
        image = resize(image)
        w, h = image.size
        crops = [centre(image)] + [image.crop((left, top, left + width, top + height))
                                   for top, left in ((0, 0), (0, w - width), (h - height, 0), (h - height, w - width))]
        crops += [crop.transpose(Image.FLIP_LEFT_RIGHT) for crop in crops]
        return np.stack([np.asarray(normalise(crop), dtype=np.float32) for crop in crops])

    return transform


def _whole_image(preprocess: dict, short_side: int) -> Callable:
    """The whole image with its shorter side resized to ``short_side`` (the longer one centre-cropped to
    ``MAX_SIDE`` at most), normalised: a float32 ``[C, H, W]`` array of the image's own aspect ratio."""
    from paddle.vision import transforms as T

    resize = T.Resize(short_side, interpolation=preprocess["interpolation"])
    normalise = _normalise(preprocess)

    def transform(image):
        image = resize(image)
        w, h = image.size
        if max(w, h) > MAX_SIDE:
            image = T.CenterCrop((min(h, MAX_SIDE), min(w, MAX_SIDE)))(image)
        return np.asarray(normalise(image), dtype=np.float32)

    return transform


def write_reports(result: Evaluation, output: Optional[str] = None, format: str = "text",
                  confusion: Optional[str] = None) -> List[str]:
    """Write the report (``format`` ``"text"`` or ``"json"``) to ``output`` and the confusion matrix CSV to
    ``confusion`` (and beside it a ``.png`` picture of it when matplotlib is installed), each atomically.
    Returns the files written."""
    from .._files import atomic_path, atomic_write_text

    written = []
    if output:
        text = json.dumps(result.to_dict(), indent=1) + "\n" if format == "json" else str(result) + "\n"
        written.append(str(atomic_write_text(output, text)))
    if confusion:
        written.append(str(atomic_write_text(confusion, result.confusion_csv())))
        picture = confusion[:-4] + ".png" if confusion.lower().endswith(".csv") else confusion + ".png"
        try:
            import matplotlib
        except ImportError:
            return written
        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        size = min(20, 4 + 0.3 * len(result.classes))
        figure, axes = plt.subplots(figsize=(size, size))
        shown = axes.imshow(result.confusion, cmap="Blues")
        figure.colorbar(shown, ax=axes)
        if len(result.classes) <= 30:
            axes.set_xticks(range(len(result.classes)), result.classes, rotation=90)
            axes.set_yticks(range(len(result.classes)), result.classes)
        axes.set_xlabel("predicted class")
        axes.set_ylabel("true class")
        axes.set_title(f"{result.views}: top-1 error {100 * result.top1_error:.2f}% of {result.images} images")
        figure.tight_layout()
        with atomic_path(picture) as temporary:
            figure.savefig(temporary, format="png")
        plt.close(figure)
        written.append(picture)
    return written


__all__ = ["Evaluation", "MAX_BATCH", "PAPER_SCALES", "VIEWS", "evaluate", "ten_crops", "write_reports"]
