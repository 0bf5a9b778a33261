"""Transfer learning: freeze the early part of a pretrained backbone and train the rest.

Freezing a part means two things, and both matter for fine-tuning:

* its parameters stop receiving gradients (``stop_gradient``), so the optimizer leaves them alone;
* its BatchNorm layers keep normalising with the running mean and variance learned on the original data
  and stop updating them, even while the model is in training mode. Otherwise every training batch would
  overwrite ImageNet statistics with those of a few images of the new task, and the frozen features
  would drift although no weight changes.

Paddle's BatchNorm does the second through ``use_global_stats``: with it set, training-mode forward
passes use (and do not update) the running statistics, and gradients still flow through to earlier layers.
"""

from __future__ import annotations

from typing import Dict, List

from paddle import nn

from .stages import HEAD, part_of


def _parts(model: nn.Layer) -> Dict[str, List[nn.Layer]]:
    """The freezable parts in input-to-output order: ``stem`` (the layers before the first stage), then
    ``layer1``, ``layer2``, ... The head is never frozen."""
    parts: Dict[str, List[nn.Layer]] = {}
    for name, layer in model.named_children():
        part = part_of(name)
        if part != HEAD:
            parts.setdefault(part, []).append(layer)
    return parts


def _set_frozen(layers: List[nn.Layer], frozen: bool) -> None:
    for layer in layers:
        for sublayer in layer.sublayers(include_self=True):
            if isinstance(sublayer, nn.layer.norm._BatchNormBase):
                # True: always use running statistics, never update them; None: Paddle's default
                # (batch statistics in training mode, running statistics in eval mode).
                sublayer._use_global_stats = True if frozen else None
                params = [p for p in (sublayer.weight, sublayer.bias) if p is not None]
            else:
                params = sublayer.parameters(include_sublayers=False)
            for param in params:
                param.stop_gradient = frozen


def freeze(model: nn.Layer, up_to: str = "layer3") -> List[str]:
    """Freeze the stem and every stage up to and including ``up_to``; make the later stages trainable.

    Frozen parameters get no gradient (``count_params`` reports them as non-trainable) and frozen BatchNorm
    layers keep using their running statistics without updating them, also after ``model.train()``. The
    head (``fc``) is never touched. Calling ``freeze`` again sets a new boundary, so gradual unfreezing is
    ``freeze(model, "layer3")`` then ``freeze(model, "layer2")``; ``unfreeze(model)`` undoes it all.
    The setting is not part of the saved weights: apply it again after building a model.

    Args:
        model: a ``ResNet`` (or any model whose stages are children named ``layer1``, ``layer2``, ..., such as
            ``paddle.vision``'s ResNets).
        up_to: ``"stem"`` or a stage name, ``"layer1"`` ... ``"layerN"`` for a model with N stages
            (a model built with ``out_stages`` has only the stages up to the last one it returns).

    Returns:
        The names of the frozen parts, e.g. ``["stem", "layer1", "layer2", "layer3"]``.

    >>> from paddle_resnet import resnet18, count_params
    >>> model = resnet18(num_classes=2)
    >>> freeze(model, up_to="layer4")
    ['stem', 'layer1', 'layer2', 'layer3', 'layer4']
    >>> count_params(model).trainable  # only the new head trains
    1026
    """
    parts = _parts(model)
    names = list(parts)
    if up_to not in parts:
        raise ValueError(f"freeze(up_to={up_to!r}): this model's freezable parts are {', '.join(names)}")
    boundary = names.index(up_to)
    frozen = [layer for name in names[:boundary + 1] for layer in parts[name]]
    if any(isinstance(sub, nn.SyncBatchNorm) for layer in frozen for sub in layer.sublayers(include_self=True)):
        raise ValueError(
            f"freeze(up_to={up_to!r}): the part to freeze contains SyncBatchNorm layers, which always normalise "
            "with batch statistics in training (Paddle ignores use_global_stats there), so their ImageNet "
            "statistics cannot be kept. Keep BatchNorm2D in the frozen part and convert only the trainable "
            "stages, e.g. model.layer4 = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(model.layer4): frozen "
            "BatchNorm layers use fixed statistics and need no synchronisation."
        )
    for index, name in enumerate(names):
        _set_frozen(parts[name], frozen=index <= boundary)
    return names[:boundary + 1]


def unfreeze(model: nn.Layer) -> None:
    """Make the stem and all stages trainable again, with BatchNorm back to its default behaviour."""
    for layers in _parts(model).values():
        _set_frozen(layers, frozen=False)
