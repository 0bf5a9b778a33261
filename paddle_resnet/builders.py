"""Build models by name: ``create_model("resnet50")`` or the matching builder, ``resnet50()``.

There is one builder per row of ``table.ARCHITECTURES``, made by ``_builder`` so that each exists as a
real, importable, documented function without a hand-copied body. The options they accept are described once,
in ``ResNetConfig``'s field metadata, and the docstrings here are generated from it.

This module sits above ``models`` and ``weights``: it is where an architecture by name meets its pretrained
weights.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

from .models.config import options_docstring
from .models.network import ResNet
from .models.stages import HEAD, part_of
from .models.table import ARCHITECTURES, get_config
from .weights.loading import IncompatibleWeightsError, LoadReport, load_pretrained, load_weights
from .weights.pretrained import get_pretrained_cfg, pretrained_cfg_for


def create_model(name: str, pretrained: Union[bool, str] = False, **options) -> ResNet:
    """Build the architecture ``name`` (see ``list_models()``), optionally with pretrained weights.

    Args:
        name: a table entry, e.g. ``"resnet50"`` or ``"resnext50_32x4d"``; or a published weight set
            ``arch.tag`` (``list_pretrained()``), e.g. ``"resnet50_vd.ssld"``: with ``pretrained=True`` those
            weights are loaded.
        pretrained: ``True`` for the official ImageNet weights (``paddle.vision``'s; PaddleClas's for the
            ``*_vd`` rows), ``"ssld"`` for PaddleClas's SSLD-distilled weights (resnet34_vd, resnet50_vd,
            resnet101_vd), or a path or URL of a weights file (paddle, torchvision / timm or PaddleClas naming).
        **options: any of these (``config.OPTIONS``):

{options}

    >>> model = create_model("resnet18", num_classes=10)
    >>> list(model.fc.weight.shape)
    [512, 10]
    """
    record = None
    if isinstance(name, str) and "." in name:
        record = get_pretrained_cfg(name)
        if pretrained is not True and pretrained is not False:
            raise ValueError(f"create_model({name!r}, pretrained={pretrained!r}): a named weight set takes "
                             f"pretrained=True (load it) or False; or name the architecture alone: "
                             f"create_model({record.architecture!r}, pretrained={pretrained!r})")
        name, pretrained = record.architecture, record.variant if pretrained else False
    model = ResNet(get_config(name, **options))
    if pretrained:
        load_pretrained(model, name, pretrained)
        record = record or pretrained_cfg_for(name, pretrained)
    model.pretrained_cfg = record  # the weights' record (timm's name): export reads their preprocessing from it
    return model


create_model.__doc__ = create_model.__doc__.format(options=options_docstring(indent=" " * 12))


def create_model_for_weights(name: str, weights, **options) -> Tuple[ResNet, LoadReport, Optional[int]]:
    """Build ``name`` and load every tensor of ``weights`` into it (strictly, as ``load_weights`` does), with
    the classifier sized from the weights unless ``num_classes`` is among ``options``.

    Returns ``(model, report, num_classes)``, the last the classifier size taken from the weights (``None`` when
    the table's or the given one fitted). A fine-tuned file knows its number of classes; asking for it again
    would only invite a mismatch. Raises ``IncompatibleWeightsError`` when anything but the classifier's size
    differs, or when the weights have no classifier at all: then the choice is the caller's (``num_classes=0``
    for a backbone).
    """
    model = create_model(name, **options)
    try:
        return model, load_weights(model, weights), None
    except IncompatibleWeightsError as error:
        outputs = classifier_outputs(error.report)
        if "num_classes" in options or outputs is None:
            raise
    model = create_model(name, **{**options, "num_classes": outputs})
    return model, load_weights(model, weights), outputs


def classifier_outputs(report: LoadReport) -> Optional[int]:
    """The classifier size of weights that differ from the model only there (from a failed load's report)."""
    shapes = report.mismatched
    if report.missing or report.unexpected or not shapes or any(part_of(key) != HEAD for key in shapes):
        return None
    bias = next((weights for key, (weights, _) in shapes.items() if key.endswith(".bias")), None)
    return bias[0] if bias is not None and len(bias) == 1 else None


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
        + (", no shortcuts (a plain net)" if config.shortcut == "none" else "")
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
plain18 = _builder("plain18")
plain34 = _builder("plain34")
plain20 = _builder("plain20")
plain32 = _builder("plain32")
plain44 = _builder("plain44")
plain56 = _builder("plain56")
plain110 = _builder("plain110")

BUILDERS = {name: globals()[name] for name in ARCHITECTURES}
