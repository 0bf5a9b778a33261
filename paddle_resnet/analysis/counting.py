"""Counting: parameters the way ``paddle.summary`` does, MACs, and both per ResNet part (``part_summary``,
which the summary shows and the verification fingerprint records)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Dict, List, NamedTuple

from ..models.stages import part_of, stage_number

if TYPE_CHECKING:
    from .trace import LayerCall

#: Layer types that only hold other layers (they have no output shape of their own in a part's summary).
CONTAINERS = ("Sequential", "LayerList", "LayerDict")


class ParamCount(NamedTuple):
    """Parameter counts in ``paddle.summary``'s convention.

    ``total`` includes BatchNorm running mean and variance, which Paddle stores as parameters that take no
    gradient; ``trainable`` counts parameters that are trainable and not ``stop_gradient`` (so a frozen
    layer moves to ``non_trainable``).
    """

    total: int
    trainable: int
    non_trainable: int


def count_params(model) -> ParamCount:
    """Count the parameters of a ``paddle.nn.Layer``, each shared parameter once.

    >>> from paddle_resnet import resnet50
    >>> count_params(resnet50())
    ParamCount(total=25610152, trainable=25557032, non_trainable=53120)
    """
    total = trainable = 0
    for param in model.parameters():
        size = math.prod(param.shape)
        total += size
        if param.trainable and not param.stop_gradient:
            trainable += size
    return ParamCount(total, trainable, total - trainable)


def count_macs(model, input_size) -> int:
    """Multiply-accumulates of one forward pass for one image: convolutions and linear layers, bias excluded.

    This is the convention of torchvision's published ``_ops`` (GMACs, despite its "GFLOPS" label), so
    ``count_macs(resnet50(), (1, 3, 224, 224)) / 1e9`` rounds to its 4.089. Shapes are derived from each
    layer's settings without running the convolutions (see ``analysis.trace``). ``input_size`` is
    ``(batch, channels, height, width)`` as ``paddle.summary`` takes it; the count is per image.

    >>> from paddle_resnet import resnet50
    >>> count_macs(resnet50(), (1, 3, 224, 224))
    4089184256
    """
    from .trace import trace  # imports Paddle; ParamCount alone does not need it

    return sum(call.macs for call in trace(model, input_size))


def part_summary(calls: List[LayerCall]) -> Dict[str, dict]:
    """Per ResNet part (``stem``, ``layer1``..., ``head``; see ``models.stages``): blocks, output shape,
    parameters, MACs. Parameters count every parameter of the part's layers (``paddle.summary``'s total)."""
    parts: Dict[str, dict] = {}
    for call in calls:
        if not call.name:
            continue
        part = part_of(call.name)
        info = parts.setdefault(part, {"blocks": 0, "output_shape": None, "params": 0, "macs": 0})
        info["params"] += call.params
        info["macs"] += call.macs
        if call.type not in (*CONTAINERS, "Flatten"):
            info["output_shape"] = call.output_shape
        if call.name.count(".") == 1 and stage_number(part) is not None:
            info["blocks"] += 1
    return parts
