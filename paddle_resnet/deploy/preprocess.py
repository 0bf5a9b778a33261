"""How an image file becomes a model's input, described once.

Training validates with this transform (``training.data.eval_transform`` is ``eval_transform`` here), ``export``
records it next to the model (``<prefix>_meta.json``, see ``describe_preprocess``), and ``Predictor.classify``
applies what the metadata says. So a deployed model sees its images prepared exactly as validation prepared them.

>>> describe_preprocess(224)["resize_short"], describe_preprocess(224)["crop"]
(256, [224, 224])
"""

from __future__ import annotations

import os
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from .._errors import PaddleResNetError

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


class ImageFileError(PaddleResNetError, ValueError):
    """A file that cannot be read as an image faithfully: not a regular file, or a pixel format without a fixed
    range of values. The message says why (``read_image`` adds no path: its callers name the file)."""


#: The most pixels an image file may have: Pillow's own ``Image.MAX_IMAGE_PIXELS`` (1024^3 / 4 / 3, about 89
#: million; an RGB copy takes 268 MB), above which Pillow only warns (it refuses twice as many). Checked on the
#: size the file's header declares, before any pixel is decoded or allocated. Not ``MAX_IMAGE_SIDE``: that
#: bounds the model's input, and photos (6000 x 4000) are larger; they are resized before they reach the model.
MAX_IMAGE_PIXELS = 1024 ** 3 // 4 // 3


def read_image(path: str, draft: Optional[Tuple[int, int]] = None):
    """The image file at ``path`` as an 8-bit RGB ``PIL.Image``: the one reader of image files, used by training,
    validation, ``predict`` and ``Predictor.classify``, so all accept the same files and see the same pixels.

    * Only regular files are opened: a FIFO named ``x.png`` would block for ever, a device never end
      (``ImageFileError``).
    * Every pixel format is scaled to 0-255 (``to_rgb``: 16-bit grayscale too, which Pillow alone clips);
      32-bit integer (except 16-bit PNGs, which Pillow reads as mode ``I``) and float pixels have no fixed range
      and are refused (``ImageFileError``).
    * The EXIF orientation is applied, so a photo taken upright is upright whatever the camera stored.
    * ``draft``: decode a JPEG at reduced scale (enough to check that every byte decodes, much faster).
    * An image of more than ``MAX_IMAGE_PIXELS`` pixels is refused from the size its header declares, before any
      pixel is decoded (``ImageFileError``).

    Pillow's errors (not an image, truncated) pass through; Pillow itself refuses, when the file is opened,
    images of more than twice ``MAX_IMAGE_PIXELS`` (``DecompressionBombError``).
    """
    import stat

    from PIL import Image

    if not stat.S_ISREG(os.stat(path).st_mode):  # a missing file: FileNotFoundError, as Pillow would raise
        raise ImageFileError("not a regular file (a directory, pipe, socket or device)")
    with Image.open(path) as image:  # reads the header only: the size is known, no pixel is decoded yet
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ImageFileError(f"{width} x {height} pixels ({width * height:,}): more than the {MAX_IMAGE_PIXELS:,} "
                                 "accepted (MAX_IMAGE_PIXELS); reduce the image first")
        if draft is not None:
            image.draft("RGB", draft)
        image.load()
        problem = pixel_format_problem(image)
        if problem:
            raise ImageFileError(problem)
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
        rgb = to_rgb(image)
    method = _ORIENTATION_FIX.get(orientation)
    return rgb if method is None else rgb.transpose(getattr(Image.Transpose, method))


_EXIF_ORIENTATION = 0x0112
#: EXIF orientation -> the transposition that makes the image upright (the table of ``ImageOps.exif_transpose``).
_ORIENTATION_FIX = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
                    7: "TRANSVERSE", 8: "ROTATE_90"}


def image_failure(error: BaseException) -> str:
    """Why an image could not be read, for a message naming the file: ``read_image``'s own reason, or
    ``cannot read image (UnidentifiedImageError: ...)`` for Pillow's errors."""
    if isinstance(error, ImageFileError):
        return str(error)
    return f"cannot read image ({type(error).__name__}: {str(error)[:300]})"


def pixel_format_problem(image) -> Optional[str]:
    """Why ``to_rgb`` cannot convert ``image`` faithfully, or ``None``."""
    if image.mode == "F" or (image.mode == "I" and image.format != "PNG"):
        kind = "float" if image.mode == "F" else "integer"
        return (f"unsupported pixel format: 32-bit {kind} pixels (mode {image.mode!r}) have no fixed range of "
                "values to map to 0-255; convert the image to 8 or 16 bits per channel")
    return None


def to_rgb(image):
    """``image`` as 8-bit RGB, every pixel format scaled to 0-255.

    Pillow's own ``convert("RGB")`` clips 16-bit grayscale (modes ``I;16``, and ``I`` for a 16-bit PNG) at 255
    instead of scaling it, which turns nearly every pixel white; those are scaled here. (Pillow reads 16-bit
    RGB PNGs as 8-bit RGB itself.)
    """
    from PIL import Image

    if image.mode.startswith("I;16") or (image.mode == "I" and image.format == "PNG"):
        pixels = np.asarray(image).astype(np.uint32)
        image = Image.fromarray(((pixels * 255 + 32767) // 65535).astype(np.uint8))  # rounded, 65535 -> 255
    return image.convert("RGB")


def load_images(paths: Sequence[str], transform: Callable) -> List[object]:
    """Each of ``paths`` read with ``read_image`` and transformed: a float32 array, or for a file that cannot be
    read, the reason as a string (``cannot read image (UnidentifiedImageError: ...)``)."""
    results: List[object] = []
    for path in paths:
        try:
            results.append(np.asarray(transform(read_image(path)), dtype="float32"))
        except Exception as error:  # noqa: BLE001  whatever PIL raises, this file cannot be classified
            results.append(image_failure(error))
    return results
