"""Shape rules: the output shape, MACs and settings of a Paddle layer computed from its attributes, without
running it.

Each rule maps ``(layer, input shape)`` to ``(output shape, MACs for one image, settings)``. The rules read the
same attributes Paddle's kernels use (``_stride``, ``_updated_padding`` ...), so a layer whose settings were
changed after construction is traced as it would really run. A layer class of our own (or a user's) declares
its rule itself, as a method ``shape_rule(input_shape) -> (output_shape, macs, settings)`` that raises
``ValueError`` for an input it cannot take; this module knows only Paddle's layers.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional

import numpy as np
from paddle import nn


class TraceError(RuntimeError):
    """The model cannot run on the given input (a shape mismatch inside, or a wrong input size).

    ``where`` is the name of the innermost layer the problem happened in, once known.
    """

    where = None


class UnsupportedLayer(TraceError):
    """The symbolic trace met a layer or an operation it has no shape rule for."""




def _pair(value) -> List[int]:
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * 2


def _expect_nchw(layer, shape, channels=None):
    if len(shape) != 4:
        raise TraceError(f"{type(layer).__name__} expects a 4-D NCHW input, got shape {shape}")
    if channels is not None and shape[1] != channels:
        raise TraceError(f"{type(layer).__name__} expects {channels} input channels, got shape {shape}")


def _window_out(size, kernel, stride, pad_before, pad_after, dilation=1, ceil_mode=False):
    span = size + pad_before + pad_after - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if out < 1:
        raise TraceError(f"a window of {kernel} (dilation {dilation}) does not fit an input of size {size}")
    return out


def _conv2d(layer, shape):
    if getattr(layer, "_data_format", "NCHW") != "NCHW" or getattr(layer, "_padding_mode", "zeros") != "zeros":
        raise UnsupportedLayer("symbolic trace supports NCHW convolutions with zero padding only")
    _expect_nchw(layer, shape, layer._in_channels)
    kernel, stride, dilation = _pair(layer._kernel_size), _pair(layer._stride), _pair(layer._dilation)
    algorithm = getattr(layer, "_padding_algorithm", "EXPLICIT")
    if algorithm == "SAME":
        out_hw = [math.ceil(size / s) for size, s in zip(shape[2:], stride)]
        padding = "SAME"
    else:
        pads = [0, 0] if algorithm == "VALID" else [int(p) for p in layer._updated_padding]
        if len(pads) == 2:
            pads = [pads[0], pads[0], pads[1], pads[1]]
        out_hw = [_window_out(size, k, s, pads[2 * i], pads[2 * i + 1], d)
                  for i, (size, k, s, d) in enumerate(zip(shape[2:], kernel, stride, dilation))]
        padding = pads
    out = [shape[0], layer._out_channels, *out_hw]
    macs = int(np.prod(out[1:])) * (layer._in_channels // layer._groups) * kernel[0] * kernel[1]
    settings = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
                "groups": layer._groups}
    return out, macs, settings


def _pool2d(layer, shape):
    _expect_nchw(layer, shape)
    if getattr(layer, "data_format", "NCHW") != "NCHW":
        raise UnsupportedLayer("symbolic trace supports NCHW pools only")
    kernel = _pair(layer.ksize)
    stride = kernel if layer.stride is None else _pair(layer.stride)
    if isinstance(layer.padding, str):
        pads = _named_padding(layer.padding.upper(), shape[2:], kernel, stride)
    else:
        pads = _pair(layer.padding)
    if len(pads) == 2:
        pads = [pads[0], pads[0], pads[1], pads[1]]
    if isinstance(layer.padding, str) and layer.padding.upper() == "SAME":
        out_hw = [-(-size // s) for size, s in zip(shape[2:], stride)]  # Paddle ignores ceil_mode here
    else:
        # Paddle's ceil mode adds stride - 1 before dividing and, unlike PyTorch, keeps a last window that starts
        # in the padding (checked against the kernels in tests/test_trace.py).
        out_hw = [_window_out(size, k, s, pads[2 * i], pads[2 * i + 1], ceil_mode=layer.ceil_mode)
                  for i, (size, k, s) in enumerate(zip(shape[2:], kernel, stride))]
    settings = {"kernel": kernel, "stride": stride, "padding": pads, "ceil_mode": bool(layer.ceil_mode)}
    if isinstance(layer, nn.AvgPool2D):
        # Values, not shapes: whether padded positions (and, in ceil mode, the overhang past the input) count in
        # the average. ResNet-D's shortcut pool averages only real pixels.
        settings["exclusive"] = bool(layer.exclusive)
        if getattr(layer, "divisor", None) is not None:
            settings["divisor"] = int(layer.divisor)
    return [*shape[:2], *out_hw], 0, settings


def _named_padding(algorithm, sizes, kernel, stride) -> List[int]:
    """Explicit ``[top, bottom, left, right]`` pads of Paddle's ``"SAME"`` (output ``ceil(size / stride)``, the
    padding split with the extra pixel after) and ``"VALID"`` (none) paddings."""
    if algorithm == "VALID":
        return [0, 0, 0, 0]
    if algorithm != "SAME":
        raise UnsupportedLayer(f"unknown pool padding {algorithm!r}")
    pads = []
    for size, k, s in zip(sizes, kernel, stride):
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    return pads


def _adaptive_pool2d(layer, shape):
    _expect_nchw(layer, shape)
    size = layer._output_size
    size = [size, size] if isinstance(size, int) else list(size)
    out_hw = [shape[2 + i] if s is None else int(s) for i, s in enumerate(size)]
    return [*shape[:2], *out_hw], 0, {"output_size": out_hw}


def _batch_norm(layer, shape):
    if len(shape) < 2 or shape[1] != layer._num_features:
        raise TraceError(f"{type(layer).__name__} expects {layer._num_features} channels, got shape {shape}")
    return list(shape), 0, {}


def _linear(layer, shape):
    in_features, out_features = layer.weight.shape
    if shape[-1] != in_features:
        raise TraceError(f"Linear expects {in_features} input features, got shape {shape}")
    out = [*shape[:-1], out_features]
    return out, int(np.prod(out[1:])) * in_features, {}


def _flatten(layer, shape):
    start, stop = layer.start_axis % len(shape), layer.stop_axis % len(shape)
    return [*shape[:start], int(np.prod(shape[start:stop + 1])), *shape[stop + 1:]], 0, {}


def _same_shape(layer, shape):
    return list(shape), 0, {}


SHAPE_RULES: Dict[type, Callable] = {
    nn.Conv2D: _conv2d,
    nn.MaxPool2D: _pool2d,
    nn.AvgPool2D: _pool2d,
    nn.AdaptiveAvgPool2D: _adaptive_pool2d,
    nn.AdaptiveMaxPool2D: _adaptive_pool2d,
    nn.BatchNorm2D: _batch_norm,
    nn.BatchNorm: _batch_norm,
    nn.Linear: _linear,
    nn.Flatten: _flatten,
    **{activation: _same_shape for activation in (
        nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.Sigmoid, nn.Silu, nn.Swish, nn.Hardswish, nn.Tanh,
        nn.Identity, nn.Dropout, nn.Dropout2D)},
}

# Layers whose settings go into the record even when they run eagerly (the same helpers read them).
_SETTINGS_OF = {nn.Conv2D: _conv2d, nn.MaxPool2D: _pool2d, nn.AvgPool2D: _pool2d,
                nn.AdaptiveAvgPool2D: _adaptive_pool2d, nn.AdaptiveMaxPool2D: _adaptive_pool2d,
                nn.Linear: _linear}


def rule_for(layer) -> Optional[Callable]:
    """The shape rule of ``layer``: its own ``shape_rule`` method if its class defines one, else the rule of the
    nearest Paddle class it derives from, else ``None``."""
    own = getattr(type(layer), "shape_rule", None)
    if own is not None:
        return _own_rule
    for cls in type(layer).__mro__:
        if cls in SHAPE_RULES:
            return SHAPE_RULES[cls]
    return None


def settings_rule_for(layer) -> Optional[Callable]:
    """The rule whose settings (kernel, stride, ...) are recorded for ``layer`` even when it runs eagerly."""
    if getattr(type(layer), "shape_rule", None) is not None:
        return _own_rule
    return next((rule for cls, rule in _SETTINGS_OF.items() if isinstance(layer, cls)), None)


def _own_rule(layer, shape):
    try:
        return layer.shape_rule(shape)
    except ValueError as error:  # the layer's own way of saying the input does not fit
        raise TraceError(str(error)) from None
