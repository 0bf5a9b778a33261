"""The names of a ResNet's parts: ``stem``, the stages ``layer1`` ... ``layerN``, and ``head``.

The stage attribute names are ``paddle.vision``'s (and torchvision's), which is what lets their state dicts load
unchanged. Everything that builds, freezes, summarises, verifies or loads a ResNet by part asks this module,
so the naming lives in one place.

>>> stage_name(2), stage_number("layer2"), part_of("layer2.0.conv1"), part_of("fc"), part_of("bn1")
('layer2', 2, 'layer2', 'head', 'stem')
"""

from __future__ import annotations

from typing import Optional

STEM, HEAD = "stem", "head"
#: Top-level sublayers after the last stage: global pooling, flatten and the classifier.
HEAD_LAYERS = ("avgpool", "flatten", "fc")
_STAGE_PREFIX = "layer"


def stage_name(number: int) -> str:
    """The attribute name of stage ``number`` (1-based): ``layer1``, ``layer2``, ..."""
    return f"{_STAGE_PREFIX}{number}"


def stage_number(name: str) -> Optional[int]:
    """``layer3`` -> 3; ``None`` for a name that is not a stage."""
    suffix = name[len(_STAGE_PREFIX):]
    return int(suffix) if name.startswith(_STAGE_PREFIX) and suffix.isdigit() else None


def part_of(path: str) -> str:
    """The part of a ResNet the sublayer at ``path`` (``layer1.0.conv1``) belongs to: ``stem``, a stage, or
    ``head``. Everything before the first stage is the stem."""
    top = path.split(".")[0]
    if stage_number(top) is not None:
        return top
    return HEAD if top in HEAD_LAYERS else STEM


def block_of(path: str) -> str:
    """The residual block ``layerK.I`` that ``path`` lies in, or ``""`` outside the stages."""
    parts = path.split(".")
    return ".".join(parts[:2]) if stage_number(parts[0]) is not None and len(parts) > 1 else ""
