"""Build models by name: ``create_model("resnet50")`` or the matching builder, ``resnet50()``.

There is one builder per row of ``table.ARCHITECTURES``, made by ``_builder`` so that each exists as a
real, importable, documented function without a hand-copied body. The options they accept are described once,
in ``ResNetConfig``'s field metadata, and the docstrings here are generated from it.

This module sits above ``models`` and ``weights``: it is where an architecture by name meets its pretrained
weights.
"""

from __future__ import annotations

from typing import Union

from .models.config import options_docstring
from .models.network import ResNet
from .models.table import ARCHITECTURES, get_config
from .weights.loading import load_pretrained


def create_model(name: str, pretrained: Union[bool, str] = False, **options) -> ResNet:
    """Build the architecture ``name`` (see ``list_models()``), optionally with pretrained weights.

    Args:
        name: a table entry, e.g. ``"resnet50"`` or ``"resnext50_32x4d"``.
        pretrained: ``True`` for the official ImageNet weights (``paddle.vision``'s; PaddleClas's for the
            ``*_vd`` rows), ``"ssld"`` for PaddleClas's SSLD-distilled weights (resnet34_vd, resnet50_vd,
            resnet101_vd), or a path or URL of a weights file (paddle, torchvision / timm or PaddleClas naming).
        **options: any of these (``config.OPTIONS``):

{options}

    >>> model = create_model("resnet18", num_classes=10)
    >>> list(model.fc.weight.shape)
    [512, 10]
    """
    model = ResNet(get_config(name, **options))
    if pretrained:
        load_pretrained(model, name, pretrained)
    return model


create_model.__doc__ = create_model.__doc__.format(options=options_docstring(indent=" " * 12))


def _builder(name: str):
    config = ARCHITECTURES[name]

    def build(pretrained: Union[bool, str] = False, **options) -> ResNet:
        return create_model(name, pretrained=pretrained, **options)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"{name}: {config.block} blocks {config.blocks_per_stage}, stage widths {config.stage_widths}"
        + (f", {config.groups} groups x {config.width_per_group} channels" if config.groups > 1 else "")
        + (f", {config.stem} stem, shortcut downsample {config.downsample!r}" if config.stem == "deep" else "")
        + (", a projection on every stage's first block" if config.first_block_projection else "")
        + f", {config.image_size}x{config.image_size} input by default.\n\n"
        "Same as ``create_model(name, pretrained, **options)``; see there for the options."
    )
    return build


resnet18 = _builder("resnet18")
resnet34 = _builder("resnet34")
resnet50 = _builder("resnet50")
resnet101 = _builder("resnet101")
resnet152 = _builder("resnet152")
resnext50_32x4d = _builder("resnext50_32x4d")
resnext50_64x4d = _builder("resnext50_64x4d")
resnext101_32x4d = _builder("resnext101_32x4d")
resnext101_32x8d = _builder("resnext101_32x8d")
resnext101_64x4d = _builder("resnext101_64x4d")
resnext152_32x4d = _builder("resnext152_32x4d")
resnext152_64x4d = _builder("resnext152_64x4d")
wide_resnet50_2 = _builder("wide_resnet50_2")
wide_resnet101_2 = _builder("wide_resnet101_2")
resnet18_vd = _builder("resnet18_vd")
resnet34_vd = _builder("resnet34_vd")
resnet50_vd = _builder("resnet50_vd")
resnet101_vd = _builder("resnet101_vd")
resnet152_vd = _builder("resnet152_vd")
resnet200_vd = _builder("resnet200_vd")
resnet18d = _builder("resnet18d")
resnet34d = _builder("resnet34d")
resnet200d = _builder("resnet200d")
resnet20 = _builder("resnet20")
resnet32 = _builder("resnet32")
resnet44 = _builder("resnet44")
resnet56 = _builder("resnet56")
resnet110 = _builder("resnet110")
resnet1202 = _builder("resnet1202")

BUILDERS = {name: globals()[name] for name in ARCHITECTURES}
