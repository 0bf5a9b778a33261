"""The ResNet family as one configuration table.

Every named architecture is one row of ``ARCHITECTURES``: which residual block it stacks, how many blocks
each stage holds, how wide each stage is, and the few options that set it apart. The network in
``network.py`` is built from a row and nothing else, so reading this table tells you the whole family.

This module needs no Paddle: it is plain data and validation.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Dict, Tuple

BLOCK_TYPES = ("basic", "bottleneck")
STEMS = ("imagenet", "cifar")
SHORTCUTS = ("A", "B")
STRIDE_PLACEMENTS = ("3x3", "1x1")

#: Options every builder (``resnet50(...)``, ``create_model(name, ...)``) accepts on top of the table row.
OPTIONS = ("num_classes", "with_pool", "in_channels", "stride_on", "zero_init_residual", "shortcut", "out_stages")


@dataclass(frozen=True)
class ResNetConfig:
    """Everything that defines one ResNet.

    Attributes:
        block: ``"basic"`` (two 3x3 convs) or ``"bottleneck"`` (1x1 reduce, 3x3, 1x1 expand).
        layers: number of blocks in each stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50.
        widths: output channels of each stage (for bottlenecks: the expanded width, 4x the inner width).
        stem: ``"imagenet"`` (7x7/2 conv, 3x3/2 max-pool) or ``"cifar"`` (3x3/1 conv, no pool).
        stem_width: output channels of the stem convolution.
        groups: groups of the bottleneck 3x3 conv (ResNeXt cardinality).
        width_per_group: channels per group of the bottleneck 3x3 conv in the first stage (64 for plain
            ResNet; ResNeXt ``32x4d`` uses 4; Wide ResNet uses 128). Doubles with each stage.
        shortcut: ``"B"`` 1x1 projection where the shape changes, ``"A"`` parameter-free subsample-and-zero-pad.
        stride_on: where a bottleneck downsamples: ``"3x3"`` (paddle.vision, torchvision; "ResNet v1.5")
            or ``"1x1"`` (the 2015 paper). Basic blocks always stride on their first 3x3 conv.
        num_classes: classifier outputs; 0 builds no classifier.
        with_pool: global average pooling after the last stage.
        in_channels: channels of the input image.
        zero_init_residual: start the last BatchNorm of each block at zero so each block begins as identity.
        image_size: default input resolution, used by summaries and verification.
        out_stages: stages (1-based) whose feature maps ``forward`` returns, for detection and segmentation
            backbones; empty for a classifier. Only the stages up to the last one listed are built.
    """

    block: str
    layers: Tuple[int, ...]
    widths: Tuple[int, ...]
    stem: str = "imagenet"
    stem_width: int = 64
    groups: int = 1
    width_per_group: int = 64
    shortcut: str = "B"
    stride_on: str = "3x3"
    num_classes: int = 1000
    with_pool: bool = True
    in_channels: int = 3
    zero_init_residual: bool = False
    image_size: int = 224
    out_stages: Tuple[int, ...] = ()

    def __post_init__(self):
        # Tuples, so that configurations hash and compare by value whatever sequence was passed in.
        for name in ("layers", "widths", "out_stages"):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)):
                raise ValueError(f"{name}={value!r}: expected a tuple of ints")
            object.__setattr__(self, name, tuple(value))
        self._validate()

    def _validate(self):
        check_choice("block", self.block, BLOCK_TYPES)
        check_choice("stem", self.stem, STEMS)
        check_choice("shortcut", self.shortcut, SHORTCUTS)
        check_choice("stride_on", self.stride_on, STRIDE_PLACEMENTS)
        if not self.layers or not all(_is_int(n) and n >= 1 for n in self.layers):
            raise ValueError(f"layers={self.layers!r}: expected one positive block count per stage")
        if len(self.widths) != len(self.layers):
            raise ValueError(
                f"widths={self.widths!r} has {len(self.widths)} entries but layers={self.layers!r} has "
                f"{len(self.layers)} stages: give one width per stage"
            )
        for name in ("stem_width", "in_channels", "groups", "width_per_group", "image_size"):
            check_positive(name, getattr(self, name))
        for width in self.widths:
            check_positive("widths entry", width)
        if not _is_int(self.num_classes) or self.num_classes < 0:
            raise ValueError(f"num_classes={self.num_classes!r}: expected 0 (no classifier) or a positive int")
        for name in ("with_pool", "zero_init_residual"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r}: expected True or False")
        if self.num_classes > 0 and not self.with_pool:
            raise ValueError(
                f"with_pool=False with num_classes={self.num_classes}: the classifier takes pooled features; "
                "use num_classes=0 to get the unpooled feature map"
            )
        if self.out_stages:
            stages = tuple(range(1, len(self.layers) + 1))
            if (not all(_is_int(s) for s in self.out_stages) or list(self.out_stages) != sorted(set(self.out_stages))
                    or not set(self.out_stages) <= set(stages)):
                raise ValueError(f"out_stages={self.out_stages!r}: expected increasing stage numbers among {stages}")
            if self.num_classes or self.with_pool:
                raise ValueError(
                    f"out_stages={self.out_stages!r} with num_classes={self.num_classes}, "
                    f"with_pool={self.with_pool}: a feature backbone returns stage maps and has no pool or "
                    "classifier; pass num_classes=0, with_pool=False (create_model does this for you)"
                )
        if self.block == "basic":
            if self.groups != 1 or self.width_per_group != 64:
                raise ValueError(
                    f"groups={self.groups}, width_per_group={self.width_per_group}: basic blocks support only "
                    "groups=1 and width_per_group=64; grouped and wide variants use bottleneck blocks"
                )
            if self.stride_on != "3x3":
                raise ValueError(
                    f"stride_on={self.stride_on!r}: basic blocks have no 1x1 conv to stride on; "
                    "stride_on applies to bottleneck architectures only (accepted here: '3x3')"
                )
        else:
            for width in self.widths:
                if width % 4:
                    raise ValueError(f"widths entry {width}: a bottleneck stage width must be a multiple of 4")
            _bottleneck_widths(self.widths, self.groups, self.width_per_group)  # raises for fractional widths

    @property
    def bottleneck_widths(self) -> Tuple[int, ...]:
        """Inner (3x3 conv) width of each bottleneck stage: ``widths/4 * width_per_group/64 * groups``."""
        return _bottleneck_widths(self.widths, self.groups, self.width_per_group)

    @property
    def stage_strides(self) -> Tuple[int, ...]:
        """Stride of each stage's first block: the first stage keeps the resolution, the others halve it."""
        return (1,) + (2,) * (len(self.layers) - 1)

    @property
    def input_size(self) -> Tuple[int, int, int, int]:
        """Default input in ``paddle.summary`` form: ``(1, in_channels, image_size, image_size)``."""
        return (1, self.in_channels, self.image_size, self.image_size)

    def replace(self, **changes) -> "ResNetConfig":
        """A copy with some fields changed (validated again)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise TypeError(
                f"unknown configuration field(s) {unknown}; fields are: "
                + ", ".join(f.name for f in dataclasses.fields(self))
            )
        return dataclasses.replace(self, **changes)


def _bottleneck_widths(widths, groups, width_per_group) -> Tuple[int, ...]:
    inner = []
    for width in widths:
        per_group, remainder = divmod(width // 4 * width_per_group, 64)
        if remainder or per_group == 0:
            raise ValueError(
                f"width_per_group={width_per_group} gives a stage of width {width} a fractional "
                f"{width // 4 * width_per_group / 64:g} channels per group: choose width_per_group so "
                f"that width/4 * width_per_group is a multiple of 64"
            )
        inner.append(per_group * groups)
    return tuple(inner)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive(name, value):
    """Raise ``ValueError`` naming ``value`` unless it is a positive int."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name}={value!r}: expected a positive int")


def check_choice(name, value, accepted):
    """Raise ``ValueError`` naming ``value`` and the ``accepted`` ones unless it is one of them."""
    if value not in accepted:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(repr(a) for a in accepted)}")


_BASIC = (64, 128, 256, 512)
_BOTTLENECK = (256, 512, 1024, 2048)
_CIFAR = dict(stem="cifar", stem_width=16, shortcut="A", num_classes=10, image_size=32)


def _cifar(n: int) -> ResNetConfig:
    """The paper's CIFAR-10 net with 6n+2 layers: three stages of n basic blocks, 16/32/64 filters."""
    return ResNetConfig("basic", (n, n, n), (16, 32, 64), **_CIFAR)


# fmt: off
#: Every named architecture. ImageNet rows follow paddle.vision.models.resnet (and torchvision), whose
#: official weights load into them unchanged; CIFAR rows follow section 4.2 of He et al. (2015).
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
    # CIFAR-10 (He et al. 2015, section 4.2): 6n+2 layers, 3x3 stem, no max-pool, option-A shortcuts.
    "resnet20":         _cifar(3),
    "resnet32":         _cifar(5),
    "resnet44":         _cifar(7),
    "resnet56":         _cifar(9),
    "resnet110":        _cifar(18),
    "resnet1202":       _cifar(200),
}
# fmt: on


def list_models():
    """Names of every architecture in the table, sorted.

    >>> list_models()[:3]
    ['resnet101', 'resnet110', 'resnet1202']
    """
    return sorted(ARCHITECTURES)


def supported_depths():
    """Depths ``ResNet(depth)`` accepts: the plain ``resnet<depth>`` rows of the table."""
    return sorted(int(name[len("resnet"):]) for name in ARCHITECTURES if name[len("resnet"):].isdigit())


def get_config(name: str, **options) -> ResNetConfig:
    """The table row for ``name`` with builder ``options`` applied.

    Raises ``ValueError`` for an unknown name (listing the closest matches and all names) and for an
    option that is not one of ``OPTIONS``.
    """
    if not isinstance(name, str) or name not in ARCHITECTURES:
        close = difflib.get_close_matches(str(name), list_models(), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{hint} Available: {', '.join(list_models())}")
    check_options(options, f" for {name}")
    if options.get("out_stages"):
        # A feature backbone has no head: default the head options off rather than make every caller say so.
        options.setdefault("num_classes", 0)
        options.setdefault("with_pool", False)
    return ARCHITECTURES[name].replace(**options)


def check_options(options, where: str = "") -> None:
    """Raise ``ValueError`` for any builder option that is not one of ``OPTIONS``."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}{where}; accepted: {', '.join(OPTIONS)}")
