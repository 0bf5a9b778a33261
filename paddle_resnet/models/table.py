"""The ResNet family as one table: every named architecture is one row, a ``ResNetConfig``.

A row says which residual block the network stacks, how many blocks each stage holds, how wide each stage is,
and the few options that set it apart. ``ResNet`` (``network.py``) is built from a row and nothing else, so
reading this table tells you the whole family.
"""

from __future__ import annotations

import difflib
import re
from typing import Dict, List, Tuple, Union

from .config import ResNetConfig, check_options

_BASIC = (64, 128, 256, 512)
_BOTTLENECK = (256, 512, 1024, 2048)
_CIFAR = dict(stem="cifar", stem_width=16, shortcut="A", num_classes=10, image_size=32)
#: ResNet-D (He et al. 2019, "Bag of Tricks"): the deep 3x3 stem and the average-pool shortcut, as timm builds it.
_D = dict(stem="deep", downsample="avgpool")
#: PaddleClas's ResNet*_vd: ResNet-D plus a projection on the first block of every stage (which changes only
#: ResNet-18/34: their first stage keeps the shape, so timm and torchvision have no projection there).
_VD = dict(_D, first_block_projection=True)


#: The paper's plain baselines (section 4.1, Table 2, Figure 6): the residual nets without shortcuts.
_PLAIN = dict(shortcut="none")


def _cifar(n: int, **options) -> ResNetConfig:
    """The paper's CIFAR-10 net with 6n+2 layers: three stages of n basic blocks, 16/32/64 filters."""
    return ResNetConfig("basic", (n, n, n), (16, 32, 64), **{**_CIFAR, **options})


# fmt: off
#: Every named architecture. ImageNet rows follow paddle.vision.models.resnet (and torchvision), whose
#: official weights load into them unchanged; ResNet-D rows follow PaddleClas and timm (He et al. 2019, "Bag of
#: Tricks"), whose weights load with their keys renamed; CIFAR rows follow section 4.2 of He et al. (2015).
ARCHITECTURES: Dict[str, ResNetConfig] = {
    #                               block         blocks per stage  stage widths  options
    "resnet18":         ResNetConfig("basic",      (2, 2, 2, 2),     _BASIC),
    "resnet34":         ResNetConfig("basic",      (3, 4, 6, 3),     _BASIC),
    "resnet50":         ResNetConfig("bottleneck", (3, 4, 6, 3),     _BOTTLENECK),
    "resnet101":        ResNetConfig("bottleneck", (3, 4, 23, 3),    _BOTTLENECK),
    "resnet152":        ResNetConfig("bottleneck", (3, 8, 36, 3),    _BOTTLENECK),
    # ResNeXt (Xie et al. 2017): grouped 3x3 convs, "32x4d" = 32 groups of 4 channels in the first stage.
    "resnext50_32x4d":  ResNetConfig("bottleneck", (3, 4, 6, 3),     _BOTTLENECK, groups=32, width_per_group=4),
    "resnext50_64x4d":  ResNetConfig("bottleneck", (3, 4, 6, 3),     _BOTTLENECK, groups=64, width_per_group=4),
    "resnext101_32x4d": ResNetConfig("bottleneck", (3, 4, 23, 3),    _BOTTLENECK, groups=32, width_per_group=4),
    "resnext101_32x8d": ResNetConfig("bottleneck", (3, 4, 23, 3),    _BOTTLENECK, groups=32, width_per_group=8),
    "resnext101_64x4d": ResNetConfig("bottleneck", (3, 4, 23, 3),    _BOTTLENECK, groups=64, width_per_group=4),
    "resnext152_32x4d": ResNetConfig("bottleneck", (3, 8, 36, 3),    _BOTTLENECK, groups=32, width_per_group=4),
    "resnext152_64x4d": ResNetConfig("bottleneck", (3, 8, 36, 3),    _BOTTLENECK, groups=64, width_per_group=4),
    # Wide ResNet (Zagoruyko & Komodakis 2016), ImageNet variant: bottlenecks twice as wide inside.
    "wide_resnet50_2":  ResNetConfig("bottleneck", (3, 4, 6, 3),     _BOTTLENECK, width_per_group=128),
    "wide_resnet101_2": ResNetConfig("bottleneck", (3, 4, 23, 3),    _BOTTLENECK, width_per_group=128),
    # ResNet-D as PaddleClas publishes it (ResNet50_vd ...), which PaddleDetection, PaddleSeg and PaddleOCR use as
    # their backbone; PaddleClas's weights load into these. 50/101/152 are also timm's resnet50d/101d/152d.
    "resnet18_vd":      ResNetConfig("basic",      (2, 2, 2, 2),     _BASIC,      **_VD),
    "resnet34_vd":      ResNetConfig("basic",      (3, 4, 6, 3),     _BASIC,      **_VD),
    "resnet50_vd":      ResNetConfig("bottleneck", (3, 4, 6, 3),     _BOTTLENECK, **_VD),
    "resnet101_vd":     ResNetConfig("bottleneck", (3, 4, 23, 3),    _BOTTLENECK, **_VD),
    "resnet152_vd":     ResNetConfig("bottleneck", (3, 8, 36, 3),    _BOTTLENECK, **_VD),
    "resnet200_vd":     ResNetConfig("bottleneck", (3, 12, 48, 3),   _BOTTLENECK, **_VD),  # PaddleClas's depths
    # ResNet-D as timm builds it, where it differs from PaddleClas's: no projection on resnet18d/34d's first block,
    # and resnet200d with the blocks of the "Identity Mappings" paper's ResNet-200 (3, 24, 36, 3).
    "resnet18d":        ResNetConfig("basic",      (2, 2, 2, 2),     _BASIC,      **_D),
    "resnet34d":        ResNetConfig("basic",      (3, 4, 6, 3),     _BASIC,      **_D),
    "resnet200d":       ResNetConfig("bottleneck", (3, 24, 36, 3),   _BOTTLENECK, **_D),
    # CIFAR-10 (He et al. 2015, section 4.2): 6n+2 layers, 3x3 stem, no max-pool, option-A shortcuts.
    "resnet20":         _cifar(3),
    "resnet32":         _cifar(5),
    "resnet44":         _cifar(7),
    "resnet56":         _cifar(9),
    "resnet110":        _cifar(18),
    "resnet1202":       _cifar(200),
    # The paper's plain baselines (He et al. 2015, Table 1's "34-layer plain", section 4.2's plain-20 ...):
    # the residual rows above with no shortcuts and no additions. With option A shortcuts the residual twin has
    # exactly the same parameters and FLOPs (the additions and zero padding cost none).
    "plain18":          ResNetConfig("basic",      (2, 2, 2, 2),     _BASIC,      **_PLAIN),
    "plain34":          ResNetConfig("basic",      (3, 4, 6, 3),     _BASIC,      **_PLAIN),
    "plain20":          _cifar(3, **_PLAIN),
    "plain32":          _cifar(5, **_PLAIN),
    "plain44":          _cifar(7, **_PLAIN),
    "plain56":          _cifar(9, **_PLAIN),
    "plain110":         _cifar(18, **_PLAIN),
}
# fmt: on

#: ``ResNet(depth)``: the ImageNet ResNet of each depth. (The CIFAR nets share the "resnet<depth>" naming but
#: are a different network; build them by name, ``ResNet("resnet20")``.)
IMAGENET_DEPTHS: Dict[int, str] = {18: "resnet18", 34: "resnet34", 50: "resnet50", 101: "resnet101",
                                   152: "resnet152"}


def list_models() -> List[str]:
    """Names of every architecture in the table, in natural order (numbers by value: resnet18 before resnet101).

    >>> list_models()[:4]
    ['plain18', 'plain20', 'plain32', 'plain34']
    >>> [name for name in list_models() if name.startswith("resnet")][:4]
    ['resnet18', 'resnet18_vd', 'resnet18d', 'resnet20']
    """
    return sorted(ARCHITECTURES, key=natural_key)


def natural_key(name: str) -> Tuple[Union[str, int], ...]:
    """Sort key that compares the digit runs of ``name`` as numbers: ``resnet50_vd`` after ``resnet50``, before
    ``resnet101``; ``resnext50_32x4d`` before ``resnext50_64x4d``.

    >>> sorted(["resnet101", "resnet50_vd", "resnet18", "resnet50"], key=natural_key)
    ['resnet18', 'resnet50', 'resnet50_vd', 'resnet101']
    """
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def did_you_mean(name: object) -> str:
    """`` Did you mean resnet50?`` naming the table entries closest to an unknown ``name``, or ``""``."""
    close = difflib.get_close_matches(str(name), list_models(), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(close)}?" if close else ""


def get_config(name: str, **options) -> ResNetConfig:
    """The table row for ``name`` with builder ``options`` applied.

    Raises ``ValueError`` for an unknown name (listing the closest matches and all names) and for an
    option that is not one of ``OPTIONS``.
    """
    if not isinstance(name, str) or name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}.{did_you_mean(name)} Available: {', '.join(list_models())}")
    check_options(options, f" for {name}")
    row = ARCHITECTURES[name]
    if "stem" in options and row.stem == "cifar" and options["stem"] != "cifar":
        raise ValueError(
            f"stem={options['stem']!r} for {name}: {name} is a CIFAR-10 network whose 3x3 stride-1 stem keeps the "
            f"{row.image_size}x{row.image_size} input resolution; the {options['stem']!r} stem would shrink it 4x "
            "before the first stage. CIFAR rows accept only stem='cifar'; ImageNet rows accept 'imagenet', 'deep' "
            "or 'cifar'"
        )
    if options.get("out_stages"):
        # A feature backbone has no head: default the head options off rather than make every caller say so.
        options.setdefault("num_classes", 0)
        options.setdefault("with_pool", False)
    return row.replace(**options)
