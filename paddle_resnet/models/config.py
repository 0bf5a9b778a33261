"""``ResNetConfig``: everything that defines one ResNet, and the options a builder may change.

Each field carries its own description in its metadata: whether a builder (``resnet50(...)``,
``create_model(name, ...)``) accepts it as an option, whether pretrained weights depend on it, and a one-line
help text. The builders' docstrings, the command lines' flags and the options table in the docs are all
generated from that metadata, so a new field is described once, here.

This module needs no Paddle: it is plain data and validation.
"""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass
from typing import Dict, Tuple

from .._checks import check_choice, check_positive, is_int

BLOCK_TYPES = ("basic", "bottleneck")
STEMS = ("imagenet", "deep", "cifar")
SHORTCUTS = ("A", "B", "C", "none")
DOWNSAMPLES = ("conv", "avgpool")
STRIDE_PLACEMENTS = ("3x3", "1x1")


def _field(default=dataclasses.MISSING, *, help: str, option: bool = False, trained: bool = False,
           choices: Tuple[str, ...] = ()):
    """A config field. ``option``: builders accept it. ``trained``: weights trained with one value do not fit
    a model with another. ``choices``: the accepted values of a string field."""
    metadata = {"help": help, "option": option, "trained": trained, "choices": choices}
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class ResNetConfig:
    """Everything that defines one ResNet; see each field's ``help`` (``describe_fields()`` lists them).

    >>> ResNetConfig("basic", (2, 2, 2, 2), (64, 128, 256, 512)).stage_strides
    (1, 2, 2, 2)
    """

    block: str = _field(help="'basic' (two 3x3 convs) or 'bottleneck' (1x1 reduce, 3x3, 1x1 expand)",
                        trained=True, choices=BLOCK_TYPES)
    blocks_per_stage: Tuple[int, ...] = _field(help="number of residual blocks in each stage, e.g. (3, 4, 6, 3)",
                                               trained=True)
    stage_widths: Tuple[int, ...] = _field(
        help="output channels of each stage (for bottlenecks the expanded width, 4x the inner width)", trained=True)
    stem: str = _field("imagenet", help="'imagenet' (7x7/2 conv, 3x3/2 max-pool), 'deep' (three 3x3 convs, the "
                                        "first with stride 2, then the max-pool: ResNet-C/D) or 'cifar' (3x3/1 "
                                        "conv, no pool; CIFAR rows take no other stem)",
                       option=True, trained=True, choices=STEMS)
    stem_width: int = _field(64, help="output channels of the stem (the deep stem's first two convs have half as "
                                      "many)", trained=True)
    groups: int = _field(1, help="groups of the bottleneck 3x3 conv (ResNeXt's cardinality)", trained=True)
    width_per_group: int = _field(
        64, help="channels per group of the first stage's bottleneck 3x3 conv (64: ResNet, 4: ResNeXt 32x4d, "
                 "128: Wide ResNet); doubles with each stage", trained=True)
    shortcut: str = _field("B", help="'B': 1x1 projection where the shape changes; 'A': parameter-free "
                                     "subsample and zero-pad; 'C': a projection on every block; 'none': no "
                                     "shortcut and no addition (the paper's plain nets)",
                           option=True, trained=True, choices=SHORTCUTS)
    downsample: str = _field("conv", help="how a projection shortcut halves the resolution: 'conv' (1x1 conv with "
                                          "stride 2, which reads one pixel in four) or 'avgpool' (2x2 average "
                                          "pool, then a stride-1 1x1 conv: ResNet-D)",
                             option=True, trained=True, choices=DOWNSAMPLES)
    first_block_projection: bool = _field(
        False, help="a projection shortcut on every stage's first block, even where the shape does not change "
                    "(PaddleClas's ResNet-18/34 and their _vd: one more 1x1 conv + BN in the first stage)",
        option=True, trained=True)
    stride_on: str = _field("3x3", help="where a bottleneck downsamples: '3x3' (paddle.vision, torchvision, "
                                        "'v1.5') or '1x1' (the 2015 paper)", option=True, trained=True,
                            choices=STRIDE_PLACEMENTS)
    num_classes: int = _field(1000, help="classifier outputs; 0 builds no classifier", option=True)
    with_pool: bool = _field(True, help="global average pooling after the last stage", option=True)
    # Not ``trained``: pretrained RGB weights are adapted to another channel count (weights/adapt.py).
    in_channels: int = _field(3, help="channels of the input image (pretrained RGB weights are adapted to it: "
                                      "summed for 1, repeated and rescaled for more)", option=True)
    zero_init_residual: bool = _field(
        False, help="start each block's last BatchNorm at zero, so every block begins as the identity",
        option=True)
    image_size: int = _field(224, help="default input resolution, used by summaries and verification")
    out_stages: Tuple[int, ...] = _field(
        (), help="stages (1-based) whose feature maps forward returns, for detection and segmentation backbones",
        option=True)

    def __post_init__(self):
        # Tuples, so that configurations hash and compare by value whatever sequence was passed in.
        for name in ("blocks_per_stage", "stage_widths", "out_stages"):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)):
                raise ValueError(f"{name}={value!r}: expected a tuple of ints")
            object.__setattr__(self, name, tuple(value))
        self._validate()

    def _validate(self):
        for field in dataclasses.fields(self):
            if field.metadata["choices"]:
                check_choice(field.name, getattr(self, field.name), field.metadata["choices"])
        if not self.blocks_per_stage or not all(is_int(n) and n >= 1 for n in self.blocks_per_stage):
            raise ValueError(f"blocks_per_stage={self.blocks_per_stage!r}: expected one positive block count per "
                             "stage")
        if len(self.stage_widths) != len(self.blocks_per_stage):
            raise ValueError(
                f"stage_widths={self.stage_widths!r} has {len(self.stage_widths)} entries but blocks_per_stage="
                f"{self.blocks_per_stage!r} has {len(self.blocks_per_stage)} stages: give one width per stage"
            )
        for name in ("stem_width", "in_channels", "groups", "width_per_group", "image_size"):
            check_positive(name, getattr(self, name))
        for width in self.stage_widths:
            check_positive("stage_widths entry", width)
        if not is_int(self.num_classes) or self.num_classes < 0:
            raise ValueError(f"num_classes={self.num_classes!r}: expected 0 (no classifier) or a positive int")
        for name in ("with_pool", "zero_init_residual", "first_block_projection"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r}: expected True or False")
        if self.num_classes > 0 and not self.with_pool:
            raise ValueError(
                f"with_pool=False with num_classes={self.num_classes}: the classifier takes pooled features; "
                "use num_classes=0 to get the unpooled feature map"
            )
        if self.out_stages:
            stages = tuple(range(1, len(self.blocks_per_stage) + 1))
            if (not all(is_int(s) for s in self.out_stages) or list(self.out_stages) != sorted(set(self.out_stages))
                    or not set(self.out_stages) <= set(stages)):
                raise ValueError(f"out_stages={self.out_stages!r}: expected increasing stage numbers among {stages}")
            if self.num_classes or self.with_pool:
                raise ValueError(
                    f"out_stages={self.out_stages!r} with num_classes={self.num_classes}, "
                    f"with_pool={self.with_pool}: a feature backbone returns stage maps and has no pool or "
                    "classifier; pass num_classes=0, with_pool=False (create_model does this for you)"
                )
        if self.shortcut in ("A", "none") and (self.downsample != "conv" or self.first_block_projection):
            what = ("option A shortcuts are parameter-free (subsample and zero-pad)" if self.shortcut == "A"
                    else "a plain net (shortcut='none') has no shortcut at all")
            raise ValueError(
                f"shortcut={self.shortcut!r} with downsample={self.downsample!r}, first_block_projection="
                f"{self.first_block_projection}: {what} and "
                "has no projection to pool before or to add; use shortcut='B' or 'C' with these options"
            )
        if self.stem == "deep" and self.stem_width % 2:
            raise ValueError(f"stem_width={self.stem_width}: the deep stem's first two convs have half the stem's "
                             "width, so it must be even")
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
            for width in self.stage_widths:
                if width % 4:
                    raise ValueError(f"stage_widths entry {width}: a bottleneck stage width must be a multiple of 4")
            _inner_widths(self.stage_widths, self.groups, self.width_per_group)  # raises for fractional widths

    @property
    def inner_widths(self) -> Tuple[int, ...]:
        """Width of each bottleneck stage's 3x3 conv: ``stage_width/4 * width_per_group/64 * groups``."""
        return _inner_widths(self.stage_widths, self.groups, self.width_per_group)

    @property
    def stage_strides(self) -> Tuple[int, ...]:
        """Stride of each stage's first block: the first stage keeps the resolution, the others halve it."""
        return (1,) + (2,) * (len(self.blocks_per_stage) - 1)

    @property
    def first_stage_keeps_shape(self) -> bool:
        """Whether the first block of the first stage keeps its input's shape (stride 1, as many channels out as
        the stem gives it): the only block where ``first_block_projection`` adds a layer. True for ResNet-18/34;
        a bottleneck stage widens its input, so its first block projects anyway."""
        return self.stem_width == self.stage_widths[0]

    @property
    def num_stages(self) -> int:
        """Stages that are built: all of them, or up to the last of ``out_stages``."""
        return max(self.out_stages) if self.out_stages else len(self.blocks_per_stage)

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


def _inner_widths(widths, groups, width_per_group) -> Tuple[int, ...]:
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


#: Options every builder (``resnet50(...)``, ``create_model(name, ...)``) accepts on top of the table row.
OPTIONS: Tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ResNetConfig) if f.metadata["option"])

#: Fields that pretrained weights fix: a model built with another value cannot use them.
TRAINED_FIELDS: Tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ResNetConfig) if f.metadata["trained"])


def describe_fields(names=None) -> Dict[str, dict]:
    """``{name: {"help", "default", "choices"}}`` for ``names`` (default: ``OPTIONS``), in field order: the one
    description of each field that docstrings, command-line help and docs are generated from.

    >>> describe_fields(["num_classes"])["num_classes"]["help"]
    'classifier outputs; 0 builds no classifier'
    """
    names = OPTIONS if names is None else tuple(names)
    return {f.name: {"help": f.metadata["help"], "default": f.default, "choices": f.metadata["choices"]}
            for f in dataclasses.fields(ResNetConfig) if f.name in names}


def options_docstring(indent: str = "    ", width: int = 116) -> str:
    """The builder options as docstring lines, ``name: help (default ...)``, for generated docstrings."""
    return "\n".join(textwrap.fill(f"{name}: {info['help']} (default {info['default']!r})", width,
                                   initial_indent=indent, subsequent_indent=indent + "    ")
                     for name, info in describe_fields().items())


def check_options(options, where: str = "") -> None:
    """Raise ``ValueError`` for any builder option that is not one of ``OPTIONS``."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}{where}; accepted: {', '.join(OPTIONS)}")
