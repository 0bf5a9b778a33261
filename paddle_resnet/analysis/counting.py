"""Counting parameters the way ``paddle.summary`` does."""

from __future__ import annotations

import math
from typing import NamedTuple



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
