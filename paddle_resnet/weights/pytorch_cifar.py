"""Weights of the common PyTorch CIFAR ResNets (akamaster's ``pytorch_resnet_cifar10`` and its many copies),
converted so that our models compute what theirs did.

Both build the paper's CIFAR networks (``resnet20`` ... ``resnet1202``) with the option-A shortcut, which
adds channels by zero padding where a stage widens. They differ in *where* the zeros go:

* ours (``ZeroPadShortcut``), as Facebook's ``fb.resnet.torch``: ``[x, 0]``, the new zero channels after the
  input's;
* akamaster's ``LambdaLayer``: ``[0, x, 0]``, ``(out - in) / 2`` zero channels on each side.

The parameters have the same names (after renaming ``linear`` to ``fc``) and shapes, so such a file loads
without complaint, yet every block after the first widening adds its residual to other channels and the logits
differ. We keep our convention; ``from_pytorch_cifar`` reorders the channels of the weights instead. A network
computes the same function when its channels are permuted consistently (each layer's outputs, and the next
layers' inputs, in the same new order), so we choose, stage by stage, the order in which our appended zeros
sit where theirs were. The logits then agree to float rounding.

>>> from paddle_resnet import resnet20
>>> padding_warning(resnet20(), naming="torchvision", label="akamaster.safetensors")[:60]
'akamaster.safetensors: PyTorch weights loaded into a model w'
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import numpy as np
from paddle import nn

from ..models.blocks import ZeroPadShortcut
from .files import Source, read_source
from .naming import to_paddle_naming


def from_pytorch_cifar(source: Source, model: nn.Layer, trusted: bool = False) -> Dict[str, np.ndarray]:
    """The weights of a PyTorch CIFAR ResNet that pads zero channels on both sides (akamaster's
    ``pytorch_resnet_cifar10``), as a state dict in our naming and channel order for ``model``.

    ``source`` is a path or URL (``.safetensors``; convert their ``.th`` file once with PyTorch, see
    docs/weights.md) or a state dict. Their key names are accepted as they come: a ``module.`` prefix
    (``DataParallel``) is dropped, ``linear`` and ``shortcut`` become ``fc`` and ``downsample``, and BatchNorm
    statistics are renamed as for torchvision. Pass the result to ``load_weights(model, state)``.
    """
    state, _ = read_source(source, trusted)
    if state and all(key.startswith("module.") for key in state):
        state = {key[len("module."):]: value for key, value in state.items()}
    renamed = {}
    for key, value in state.items():
        if key.startswith("linear."):
            key = "fc." + key[len("linear."):]
        renamed[key.replace(".shortcut.", ".downsample.")] = value
    state, _ = to_paddle_naming(renamed, model)
    return _recentre(state, model)


def padding_warning(model: nn.Layer, naming: str, label: str) -> Optional[str]:
    """The warning to give when PyTorch-named weights go into a model whose option-A shortcuts pad channels:
    if they come from a PyTorch CIFAR ResNet, they expect the zeros elsewhere."""
    if naming != "torchvision" or not _padding_shortcuts(model):
        return None
    return (f"{label}: PyTorch weights loaded into a model whose option-A shortcuts pad zero channels. Ours "
            "append them after the input's channels; PyTorch CIFAR ResNets (akamaster's pytorch_resnet_cifar10 "
            "and its copies) pad both sides, so with their weights this model computes different logits. For "
            "such weights load paddle_resnet.weights.from_pytorch_cifar(path, model) instead, which reorders "
            "the channels to give the same results (docs/weights.md)")


def _padding_shortcuts(model: nn.Layer):
    return [layer for layer in model.sublayers() if isinstance(layer, ZeroPadShortcut)
            and layer.out_channels > layer.in_channels]


def _recentre(state: Mapping[str, np.ndarray], model: nn.Layer) -> Dict[str, np.ndarray]:
    """Permute the channels of ``state`` (their order) so that ``model`` (zeros appended) computes the same.

    ``order[j]`` is the channel of their representation that is channel ``j`` of ours between two blocks. It
    starts as the identity after the stem, changes at each padding shortcut, and finally reorders the rows of
    the classifier's weight ([in, out] in Paddle).
    """
    if not _padding_shortcuts(model):
        raise ValueError("this model has no option-A shortcut that pads channels (shortcut='A' in a network "
                         "whose stages widen): its weights need no reordering; load them with load_weights")
    state = dict(state)

    def permute(key, axis, index):
        if key in state and state[key].ndim > axis:
            state[key] = np.ascontiguousarray(np.take(state[key], index, axis=axis))

    order = None
    for stage_number, stage in enumerate(model.stages, start=1):
        for index, block in enumerate(stage):
            prefix = f"layer{stage_number}.{index}."
            convs = [name for name, layer in block.named_sublayers()
                     if isinstance(layer, nn.Conv2D) and not name.startswith("downsample")]
            norms = [name for name, layer in block.named_sublayers()
                     if hasattr(layer, "_mean") and not name.startswith("downsample")]
            if order is None:  # the stem's output: the same order in both
                order = np.arange(getattr(block, convs[0]).weight.shape[1])
            permute(prefix + convs[0] + ".weight", 1, order)  # [out, in, kh, kw]: the block reads `order`
            shortcut = block.downsample
            if isinstance(shortcut, ZeroPadShortcut):
                before = (shortcut.out_channels - shortcut.in_channels) // 2
                moved = before + order  # their copy of the input sits after `before` zero channels
                zeros = np.setdiff1d(np.arange(shortcut.out_channels), moved)  # their zeros: at our end
                order = np.concatenate([moved, zeros])
            elif shortcut is not None:  # a projection reads `order` and writes their order
                permute(prefix + "downsample.0.weight", 1, order)
                order = np.arange(shortcut[0].weight.shape[0])
            for suffix in (".weight", ".bias"):
                permute(prefix + convs[-1] + suffix, 0, order)
            for suffix in (".weight", ".bias", "._mean", "._variance"):
                permute(prefix + norms[-1] + suffix, 0, order)
    if getattr(model, "fc", None) is not None:
        permute("fc.weight", 0, order)
    return state
