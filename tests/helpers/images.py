"""Small synthetic image folders for the training tests: learnable classes, made in a few milliseconds.

Each class is a texture whose identity survives the training augmentation (random resized crops change the
scale and aspect ratio, flips mirror left-right): horizontal stripes, vertical stripes, a checkerboard.
Period, phase and both colours are random per image, with pixel noise on top, so a model has to learn the
texture's orientation, not memorise a colour.
"""

from pathlib import Path

import numpy as np
from PIL import Image

TEXTURES = ("horizontal", "vertical", "checks")


def texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One ``size`` x ``size`` RGB uint8 image of the texture ``kind``."""
    period = int(rng.integers(4, 9))
    y, x = np.mgrid[0:size, 0:size] + rng.integers(0, period, size=2)[:, None, None]
    on = {"horizontal": y // (period // 2) % 2, "vertical": x // (period // 2) % 2,
          "checks": (y // (period // 2) + x // (period // 2)) % 2}[kind].astype(bool)
    background = rng.integers(0, 256, size=3)
    foreground = (background + rng.integers(80, 176, size=3)) % 256  # always clearly different
    image = np.where(on[..., None], foreground, background) + rng.normal(0, 12, size=(size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def make_image_folder(root, per_class: int = 30, size: int = 32, seed: int = 0, classes=TEXTURES,
                      suffix: str = ".png") -> Path:
    """Write ``root/<class>/<i>.png`` for each texture class; returns ``root``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for kind in classes:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(texture(kind, size, rng)).save(root / kind / f"{i:03d}{suffix}")
    return root
