"""Key naming conventions of weight files, recognised and converted to ours (= ``paddle.vision``'s).

torchvision and timm name the same ResNet tensors as we do, except for BatchNorm statistics, a counter and the
classifier layout::

    torchvision / timm                 paddle (ours)
    <bn>.running_mean                  <bn>._mean
    <bn>.running_var                   <bn>._variance
    <bn>.num_batches_tracked           (none: dropped)
    fc.weight  [out, in]               fc.weight  [in, out]  (transposed)
"""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

import numpy as np
from paddle import nn

#: Keys that only torchvision / timm naming has, and how the statistics are renamed for Paddle.
_TORCH_ONLY_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")
_TORCH_TO_PADDLE = {".running_mean": "._mean", ".running_var": "._variance"}
_PADDLE_ONLY_SUFFIXES = ("._mean", "._variance")


def to_paddle_naming(state: Mapping[str, np.ndarray], model: nn.Layer) -> Tuple[Dict[str, np.ndarray], str]:
    """``(state in our naming, the naming it came in)``: torchvision / timm keys are recognised and converted
    for ``model`` (whose Linear layers tell which weights to transpose); our own naming is returned as is."""
    if _is_torch_naming(state, model):
        return _from_torchvision(state, model), "torchvision"
    return dict(state), "paddle"


def _is_torch_naming(state: Mapping[str, np.ndarray], model: nn.Layer) -> bool:
    """Decided from every signal the keys and shapes give, not from one kind of key: BatchNorm statistics
    named PyTorch's way (or Paddle's way), and failing both (a file of parameters only), a Linear weight whose
    shape is the model's transposed ([out, in] instead of [in, out])."""
    if any(key.endswith(_TORCH_ONLY_SUFFIXES) for key in state):
        return True
    if any(key.endswith(_PADDLE_ONLY_SUFFIXES) for key in state):
        return False
    own = model.state_dict()
    transposed = [key for key in _linear_weights(model) if key in state and key in own
                  and np.ndim(state[key]) == 2 and tuple(state[key].shape) != tuple(own[key].shape)
                  and tuple(state[key].shape) == tuple(own[key].shape)[::-1]]
    return bool(transposed)


def _linear_weights(model: nn.Layer):
    return {f"{name}.weight" for name, layer in model.named_sublayers() if isinstance(layer, nn.Linear)}


def _from_torchvision(state: Mapping[str, np.ndarray], model: nn.Layer) -> Dict[str, np.ndarray]:
    """Rename torchvision / timm keys to Paddle's and transpose Linear weights from [out, in] to [in, out]."""
    linear_weights = _linear_weights(model)
    converted = {}
    for key, value in state.items():
        if key.endswith(".num_batches_tracked"):
            continue  # PyTorch's BatchNorm step counter; Paddle has none and does not need it
        for torch_suffix, paddle_suffix in _TORCH_TO_PADDLE.items():
            if key.endswith(torch_suffix):
                key = key[:-len(torch_suffix)] + paddle_suffix
        if key in linear_weights and value.ndim == 2:
            value = np.ascontiguousarray(value.T)
        converted[key] = value
    return converted
