"""Pretrained RGB weights for a model with another number of input channels (grayscale, multispectral).

Only the first convolution sees the input channels; everything after it is the same network. Its kernel is
adapted as timm does (``timm.models._manipulate.adapt_input_conv``), so weights from either library behave
alike:

* one channel: the sum of the three RGB kernels. A gray image ``g`` then gives the conv exactly the response
  the RGB image ``(g, g, g)`` gave the original kernel.
* more channels: the RGB kernels repeated (R, G, B, R, G, ...), cut to the channel count and scaled by
  ``3 / in_channels``, so the response to a constant image keeps its scale.
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Tuple

import numpy as np
from paddle import nn

#: Input channels of the pretrained weights this adapts from (every published ResNet is RGB).
RGB = 3


def adapt_conv_weight(weight: np.ndarray, in_channels: int) -> np.ndarray:
    """A ``[out, 3, kh, kw]`` kernel adapted to ``in_channels`` input channels (see the module docstring).

    >>> w = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]).reshape(2, 3, 1, 1)
    >>> adapt_conv_weight(w, 1)[:, :, 0, 0].tolist()
    [[6.0], [60.0]]
    >>> adapt_conv_weight(w, 4)[0, :, 0, 0].tolist()
    [0.75, 1.5, 2.25, 0.75]
    """
    if weight.ndim != 4 or weight.shape[1] != RGB:
        raise ValueError(f"adapt_conv_weight: expected an [out, {RGB}, kh, kw] kernel, got shape {list(weight.shape)}")
    wide = weight.astype(np.float64)  # sums and scales in double precision, stored back in the file's type
    if in_channels == 1:
        adapted = wide.sum(axis=1, keepdims=True)
    else:
        repeats = math.ceil(in_channels / RGB)
        adapted = np.tile(wide, (1, repeats, 1, 1))[:, :in_channels] * (RGB / in_channels)
    return adapted.astype(weight.dtype)


def adapt_input_channels(state: Mapping[str, np.ndarray], model: nn.Layer) -> Tuple[Dict[str, np.ndarray],
                                                                                    Dict[str, str]]:
    """``(state, {key: what was done})``: the first conv's RGB kernel adapted to ``model``'s input channels when
    the weights are RGB and the model is not; otherwise ``state`` unchanged and no note."""
    key = _first_conv_weight(model)
    if key is None or key not in state:
        return dict(state), {}
    weight, wanted = state[key], list(dict(model.named_parameters())[key].shape)
    have = list(weight.shape)
    if len(have) != 4 or have == wanted or have[1] != RGB or have[:1] + have[2:] != wanted[:1] + wanted[2:]:
        return dict(state), {}
    how = "summed over R, G, B" if wanted[1] == 1 else f"R, G, B repeated and scaled by 3/{wanted[1]}"
    adapted = dict(state)
    adapted[key] = adapt_conv_weight(weight, wanted[1])
    return adapted, {key: f"{have} -> {wanted}: the RGB kernel {how} (timm's adapt_input_conv)"}


def _first_conv_weight(model: nn.Layer) -> Optional[str]:
    """The parameter name of the first convolution's kernel (``conv1.weight``, or ``conv1.0.weight`` in a deep
    stem): sublayers are listed in the order they were created, which is the input-to-output order here."""
    for name, layer in model.named_sublayers():
        if isinstance(layer, nn.Conv2D):
            return f"{name}.weight"
    return None
