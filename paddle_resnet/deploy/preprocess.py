"""How an image file becomes a model's input, described once.

Training validates with this transform (``training.data.eval_transform`` is ``eval_transform`` here), ``export``
records it next to the model (``<prefix>_meta.json``, see ``describe_preprocess``), and ``Predictor.classify``
applies what the metadata says. So a deployed model sees its images prepared exactly as validation prepared them.

>>> describe_preprocess(224)["resize_short"], describe_preprocess(224)["crop"]
(256, [224, 224])
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import numpy as np

#: File name endings read as images (any case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")

#: ImageNet channel statistics (RGB, 0-255 scale): what every pretrained ResNet expects its input normalised by.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)

#: The center crop's share of the resized short side: 224 of 256, the usual ImageNet evaluation.
CROP_FRACTION = 0.875


def describe_preprocess(height: int, width: Optional[int] = None, weights=None) -> dict:
    """The evaluation transform for ``height`` x ``width`` inputs (square if ``width`` is None), as plain data:
    convert to RGB, resize the short side to ``resize_short`` (bilinear), center-crop ``crop`` (height, width),
    scale to ``(pixel - mean) / std`` per channel (0-255 values), channels first.

    ``weights``: the record of the pretrained weights the model was built with (``model.pretrained_cfg``, a
    ``weights.pretrained.PretrainedCfg``), whose mean, std, crop share and interpolation are used instead of
    the ImageNet defaults (read by attribute: deployment imports nothing of the weights package)."""
    width = height if width is None else width
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    crop_fraction, interpolation = CROP_FRACTION, "bilinear"
    if weights is not None:
        mean, std = tuple(255 * m for m in weights.mean), tuple(255 * s for s in weights.std)
        crop_fraction, interpolation = weights.crop_pct, weights.interpolation
    return {"color": "RGB", "resize_short": round(max(height, width) / crop_fraction), "interpolation": interpolation,
            "crop": [height, width], "mean": [round(m, 6) for m in mean], "std": [round(s, 6) for s in std],
            "layout": "CHW"}


def transform_from(preprocess: dict) -> Callable:
    """The ``paddle.vision`` transform that ``preprocess`` (from ``describe_preprocess``) describes: a PIL RGB
    image in, a float32 ``[channels, height, width]`` array out."""
    from paddle.vision import transforms as T

    return T.Compose([T.Resize(preprocess["resize_short"], interpolation=preprocess["interpolation"]),
                      T.CenterCrop(tuple(preprocess["crop"])), T.Transpose(),
                      T.Normalize(mean=preprocess["mean"], std=preprocess["std"])])


def eval_transform(size: int) -> Callable:
    """Resize the short side to ``size / 0.875`` (256 for 224) and take the center ``size`` square."""
    return transform_from(describe_preprocess(size))


def load_images(paths: Sequence[str], transform: Callable) -> List[object]:
    """Each of ``paths`` decoded, converted to RGB and transformed: a float32 array, or for a file that cannot be
    read, the reason as a string (``cannot read image (UnidentifiedImageError: ...)``)."""
    from PIL import Image

    results: List[object] = []
    for path in paths:
        try:
            with Image.open(path) as image:
                array = transform(image.convert("RGB"))
            results.append(np.asarray(array, dtype="float32"))
        except Exception as error:  # noqa: BLE001  whatever PIL raises, this file cannot be classified
            results.append(f"cannot read image ({type(error).__name__}: {error})")
    return results
