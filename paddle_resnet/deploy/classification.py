"""Classifying image files with an exported model: the images a file, folder or pattern names, each one's
top classes with their probabilities."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Tuple, Union

import numpy as np

from .._checks import check_positive
from .discovery import prefix_of
from .export import METADATA_SUFFIX
from .preprocess import IMAGE_EXTENSIONS, load_images, transform_from


def classify(predictor, images: Union[str, Iterable[str]], top_k: int = 5, batch_size: int = 16
             ) -> List["Classification"]:
    """The ``top_k`` most probable classes of each image, from image files, by ``predictor`` (a ``Predictor`` of a
    classifier; ``Predictor.classify`` calls this).

    ``images``: a file, a folder (every image file in it and its sub-folders, by name ending), a glob
    pattern (``"photos/*.jpg"``), or a list of them. Each image is prepared as the export's metadata says
    (the training run's evaluation transform) and run in batches of ``batch_size``. Returns one
    ``Classification`` per file, in order; a file that cannot be read (or a folder or pattern with no
    image) gets its ``error`` and no classes, and the others are still classified.
    """
    check_positive("top_k", top_k)
    check_positive("batch_size", batch_size)
    preprocess = (predictor.metadata or {}).get("preprocess")
    if preprocess is None:
        raise ValueError(f"{predictor.model_file}: no image preprocessing is recorded next to the model "
                         f"({prefix_of(predictor.model_file)}{METADATA_SUFFIX}); export it again with this version "
                         "of paddle_resnet, or prepare the arrays yourself and call the predictor")
    if len(predictor.metadata.get("outputs", [])) != 1:
        raise ValueError(f"{predictor.model_file} returns {len(predictor.metadata['outputs'])} outputs "
                         "(a backbone), not class scores; classify needs a classifier")
    transform = transform_from(preprocess)
    results = [Classification(path, error=error) for path, error in find_images(images)]
    pending = [result for result in results if result.error is None]
    for start in range(0, len(pending), batch_size):
        chunk = pending[start:start + batch_size]
        loaded = load_images([result.path for result in chunk], transform)
        good = [(result, array) for result, array in zip(chunk, loaded) if not isinstance(array, str)]
        for result, array in zip(chunk, loaded):
            if isinstance(array, str):
                result.error = array
        if good:
            probabilities = softmax(predictor(np.stack([array for _, array in good])))
            for (result, _), row in zip(good, probabilities):
                order = np.argsort(-row, kind="stable")[:top_k]
                result.top = [(predictor.class_name(int(i)), float(row[i])) for i in order]
    return results


@dataclass
class Classification:
    """``Predictor.classify``'s answer for one image file: ``top``, the most probable ``(class name,
    probability)`` pairs, best first; or ``error``, why the file could not be classified."""

    path: str
    top: List[Tuple[str, float]] = field(default_factory=list)
    error: Optional[str] = None

    def __str__(self) -> str:
        """``photos/cat.jpg: cat 97.1%, dog 2.9%`` or ``photos/x.jpg: error: cannot read image (...)``."""
        if self.error is not None:
            return f"{self.path}: error: {self.error}"
        return f"{self.path}: " + ", ".join(f"{name} {100 * p:.1f}%" for name, p in self.top)

    def to_dict(self) -> dict:
        """``{"path": ..., "top": [{"class": ..., "probability": ...}], "error": ...}`` for JSON."""
        return {"path": self.path, "top": [{"class": name, "probability": p} for name, p in self.top],
                "error": self.error}


def find_images(items: Union[str, Iterable[str]]) -> List[Tuple[str, Optional[str]]]:
    """``(path, None)`` for each image that ``items`` names, or ``(item, reason)`` for an item that names none.

    A file is taken as it is (whatever its name; reading it shows whether it is an image), a folder gives its
    image files (by name ending, sub-folders included, names starting with ``.`` skipped), and anything else
    is a glob pattern giving its matching files, sorted.
    """
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    found: List[Tuple[str, Optional[str]]] = []
    for item in map(os.fspath, items):
        if os.path.isfile(item):
            found.append((item, None))
        elif os.path.isdir(item):
            found += [(path, None) for path in _images_in(item)] or \
                [(item, f"a folder without image files (accepted endings: {', '.join(IMAGE_EXTENSIONS)})")]
        else:
            matches = sorted(path for path in glob.glob(item) if os.path.isfile(path))
            found += [(path, None) for path in matches] or [(item, "no such file, folder or matching file")]
    return found


def _images_in(folder: str) -> List[str]:
    images = []
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        images += [os.path.join(directory, name) for name in sorted(files)
                   if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)]
    return images



def softmax(logits: np.ndarray) -> np.ndarray:
    """Each row of ``[batch, classes]`` scores turned into probabilities (shifted by its maximum: no overflow)."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)

