"""Shape rules: what a Paddle layer computes, read from its attributes without running it.

A rule gives, for a layer and its input shape, the layer's *settings* (everything that decides what it computes:
kernel, stride, padding, BatchNorm epsilon and momentum, padding mode, data format ...), its output shape, and its
multiply-accumulates. The rules read the same attributes Paddle's kernels use (``_stride``, ``_updated_padding``
...), so a layer whose settings were changed after construction is traced as it would really run. Settings are
read in both trace modes; the output shape only in the symbolic one (the eager trace runs the layer).

A layer class of our own (or a user's) whose ``forward`` the symbolic trace cannot follow may declare its rule
itself, as a method ``shape_rule(input_shape) -> (output_shape, macs, settings)`` that raises ``ValueError`` for
an input it cannot take; such a layer is then recorded as one opaque row. This module knows only Paddle's layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

from paddle import nn

from .._errors import PaddleResNetError


class TraceError(PaddleResNetError, RuntimeError):
    """The model cannot run on the given input (a shape mismatch inside, or a wrong input size).

    ``where`` is the name of the innermost layer the problem happened in, once known.
    """

    where = None


class UnsupportedLayer(TraceError):
    """The symbolic trace met a layer or an operation it has no shape rule for."""


class WindowTooLarge(TraceError):
    """A convolution's or pooling's window does not fit its (padded) input. Refused before Paddle's kernel runs,
    in the eager trace too: Paddle 3.3 then returns a tensor of negative shape and corrupts memory."""


# ------------------------------------------------------------------------------------------- shared helpers


def pair(value) -> List[int]:
    """``3`` -> ``[3, 3]``; ``(3, 5)`` -> ``[3, 5]``."""
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * 2


def four_sided(padding) -> object:
    """A 2-D padding in one form: ``"SAME"``/``"VALID"``, or ``[top, bottom, left, right]``.

    Accepts what Paddle's 2-D convolutions and pools accept: an int, ``[h, w]``, ``[top, bottom, left, right]``,
    or four ``(before, after)`` pairs for N, C, H, W.
    """
    if isinstance(padding, str):
        return padding.upper()
    if isinstance(padding, (list, tuple)):
        if len(padding) == 4 and all(isinstance(p, (list, tuple)) for p in padding):
            return [int(p) for side in padding[2:] for p in side]
        if len(padding) == 2:
            return [int(padding[0])] * 2 + [int(padding[1])] * 2
        if len(padding) == 4:
            return [int(p) for p in padding]
        raise UnsupportedLayer(f"no rule for a 2-D padding of {padding!r}")
    return [int(padding)] * 4


def window_out(size, kernel, stride, pad_before, pad_after, dilation=1, ceil_mode=False) -> int:
    """Output length of a sliding window (convolution or pool) along one axis.

    Paddle's kernels divide as C++ does, rounding toward zero: a window a little larger than a padded input
    still gives one output (a 2x2 pool with stride 2 on a 1x1 map gives 1x1, checked against the kernels in
    tests/test_trace_rules.py)."""
    span = size + pad_before + pad_after - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = (span // stride if span >= 0 else -(-span // stride)) + 1
    if out < 1:
        raise WindowTooLarge(f"a window of {kernel} (dilation {dilation}) does not fit an input of size {size}")
    return out


def windowed_shape(shape, kernel, stride, padding, dilation=(1, 1), ceil_mode=False) -> List[int]:
    """The NCHW output shape of a 2-D window with ``four_sided`` padding."""
    if padding == "SAME":
        return [*shape[:2], *(math.ceil(size / s) for size, s in zip(shape[2:], stride))]
    pads = [0, 0, 0, 0] if padding == "VALID" else padding
    return [*shape[:2], *(window_out(size, k, s, pads[2 * i], pads[2 * i + 1], d, ceil_mode)
                          for i, (size, k, s, d) in enumerate(zip(shape[2:], kernel, stride, dilation)))]


def expect_nchw(what, shape, channels=None, data_format="NCHW"):
    if data_format != "NCHW":
        raise UnsupportedLayer(f"the symbolic trace supports {what} in NCHW only, not {data_format}")
    if len(shape) != 4:
        raise TraceError(f"{what} expects a 4-D NCHW input, got shape {shape}")
    if channels is not None and shape[1] != channels:
        raise TraceError(f"{what} expects {channels} input channels, got shape {shape}")


def pool_settings(kernel_size, stride, padding, ceil_mode, data_format, input_shape, **extra) -> dict:
    """Settings of a 2-D max or average pool, the same for the layer and the function.

    A named padding (``"SAME"``, ``"VALID"``) is recorded as the explicit ``[top, bottom, left, right]`` pads it
    comes to at ``input_shape``: two spellings of the same windows (PaddleClas's ``padding="SAME"`` pool and
    timm's ``padding=0``) then record the same settings.
    """
    expect_nchw("a 2-D pool", input_shape, data_format=data_format)
    if isinstance(padding, str) and padding.upper() == "VALID" and ceil_mode:
        raise TraceError('a pool with padding "VALID" cannot use ceil_mode')
    kernel = pair(kernel_size)
    stride = kernel if stride is None else pair(stride)
    pads = four_sided(padding)
    if isinstance(pads, str):
        pads = _named_pads(pads, input_shape[2:], kernel, stride)
    return {"kernel": kernel, "stride": stride, "padding": pads, "ceil_mode": bool(ceil_mode), **extra,
            "data_format": data_format}


def pooled_shape(settings, shape, padding=None) -> List[int]:
    """The output shape of a pool with ``settings``; ``padding`` is the padding as the model gave it."""
    expect_nchw("a 2-D pool", shape, data_format=settings["data_format"])
    if isinstance(padding, str) and padding.upper() == "SAME":  # Paddle ignores ceil_mode here
        return [*shape[:2], *(-(-size // s) for size, s in zip(shape[2:], settings["stride"]))]
    # Paddle's ceil mode adds stride - 1 before dividing and, unlike PyTorch, keeps a last window that starts in
    # the padding (checked against the kernels in tests/test_trace.py).
    return windowed_shape(shape, settings["kernel"], settings["stride"], settings["padding"],
                          ceil_mode=settings["ceil_mode"])


def _named_pads(algorithm, sizes, kernel, stride) -> List[int]:
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


def adaptive_settings(output_size, data_format="NCHW") -> dict:
    size = [output_size, output_size] if not isinstance(output_size, (list, tuple)) else list(output_size)
    return {"output_size": [None if s is None else int(s) for s in size], "data_format": data_format}


def adaptive_shape(settings, shape) -> List[int]:
    expect_nchw("an adaptive pool", shape, data_format=settings["data_format"])
    return [*shape[:2], *(shape[2 + i] if s is None else s for i, s in enumerate(settings["output_size"]))]


def axis_index(axis, ndim) -> int:
    """A possibly negative axis as its index in ``range(ndim)``."""
    if not -ndim <= int(axis) < ndim:
        raise TraceError(f"axis {axis} is out of range for a {ndim}-D tensor")
    return int(axis) % ndim


def flatten_settings(start_axis, stop_axis, shape) -> dict:
    settings = {"start_axis": axis_index(start_axis, len(shape)), "stop_axis": axis_index(stop_axis, len(shape))}
    if settings["start_axis"] > settings["stop_axis"]:
        raise TraceError(f"cannot flatten axes {start_axis} to {stop_axis} of shape {list(shape)}: the stop axis "
                         "comes before the start axis")
    return settings


def flattened_shape(settings, shape) -> List[int]:
    start, stop = settings["start_axis"], settings["stop_axis"]
    return [*shape[:start], math.prod(shape[start:stop + 1]), *shape[stop + 1:]]


# ------------------------------------------------------------------------------------------------ the rules


@dataclass(frozen=True)
class LayerRule:
    """What a Paddle layer class computes.

    ``op`` is the operation's name, shared with the functional form (``nn.ReLU`` and ``F.relu`` are both
    ``relu``), so that models that write it either way trace alike. ``settings(layer, input_shape)`` and
    ``shape(layer, input_shape, settings)`` give the settings and the output shape; ``macs(layer, input_shape,
    output_shape)`` the multiply-accumulates for one image.
    """

    op: str
    settings: Callable
    shape: Callable
    macs: Callable = lambda layer, shape, out: 0


def _conv2d_settings(layer, shape):
    if getattr(layer, "_padding_mode", "zeros") != "zeros":
        # Paddle pads with F.pad first (in F.pad's order: left, right, top, bottom), then convolves unpadded.
        left, right, top, bottom = (int(p) for p in layer._reversed_padding_repeated_twice)
        padding = [top, bottom, left, right]
    elif getattr(layer, "_padding_algorithm", "EXPLICIT") != "EXPLICIT":
        padding = layer._padding_algorithm
    else:
        padding = four_sided(list(layer._updated_padding))
    return {"channels": [layer._in_channels, layer._out_channels], "kernel": pair(layer._kernel_size),
            "stride": pair(layer._stride), "padding": padding, "dilation": pair(layer._dilation),
            "groups": layer._groups, "padding_mode": getattr(layer, "_padding_mode", "zeros"),
            "data_format": layer._data_format}


def _conv2d_shape(layer, shape, settings):
    expect_nchw("Conv2D", shape, layer._in_channels, settings["data_format"])
    if settings["padding_mode"] == "reflect" and max(settings["padding"][:2]) >= shape[2] or \
            settings["padding_mode"] == "reflect" and max(settings["padding"][2:]) >= shape[3]:
        raise TraceError(f"a reflect padding of {settings['padding']} needs an input larger than the padding, got "
                         f"shape {shape}")
    return [shape[0], layer._out_channels, *windowed_shape(shape, settings["kernel"], settings["stride"],
                                                             settings["padding"], settings["dilation"])[2:]]


def _conv2d_macs(layer, shape, out):
    kernel = pair(layer._kernel_size)
    return math.prod(out[1:]) * (layer._in_channels // layer._groups) * kernel[0] * kernel[1]


def _pool_settings(layer, shape):
    # Average pools: whether padded positions (and, in ceil mode, the overhang past the input) count in the
    # average changes the values, not the shapes. ResNet-D's shortcut pool averages only real pixels.
    extra = {"exclusive": bool(layer.exclusive), "divisor": layer.divisor} if hasattr(layer, "exclusive") else {}
    return pool_settings(layer.ksize, layer.stride, layer.padding, layer.ceil_mode,
                         getattr(layer, "data_format", "NCHW"), shape, **extra)


def _pool_shape(layer, shape, settings):
    return pooled_shape(settings, shape, layer.padding)


def _batch_norm_settings(layer, shape):
    data_format = getattr(layer, "_data_format", None) or getattr(layer, "_data_layout", "NCHW")
    settings = {"channels": int(layer._mean.shape[0]), "epsilon": float(layer._epsilon),
                "momentum": float(layer._momentum), "data_format": data_format}
    if getattr(layer, "_act", None):  # the legacy nn.BatchNorm can fuse an activation
        settings["act"] = layer._act
    return settings


def _batch_norm_shape(layer, shape, settings):
    channel_axis = 1 if settings["data_format"].startswith("NC") else len(shape) - 1
    if len(shape) < 2 or shape[channel_axis] != settings["channels"]:
        raise TraceError(f"{type(layer).__name__} expects {settings['channels']} channels, got shape {shape}")
    return list(shape)


def _linear_settings(layer, shape):
    return {"features": [int(d) for d in layer.weight.shape]}


def _linear_shape(layer, shape, settings):
    in_features, out_features = settings["features"]
    if not shape or shape[-1] != in_features:
        raise TraceError(f"Linear expects {in_features} input features, got shape {shape}")
    return [*shape[:-1], out_features]


def _linear_macs(layer, shape, out):
    return math.prod(out[1:]) * int(layer.weight.shape[0])


def _same_shape(layer, shape, settings):
    return list(shape)


def _no_settings(layer, shape):
    return {}


def _attributes(**names):
    """Settings read from layer attributes: ``_attributes(negative_slope="_negative_slope")``."""
    return lambda layer, shape: {key: _plain(getattr(layer, attribute)) for key, attribute in names.items()}


def _plain(value):
    """A setting as JSON keeps it (a list, not a tuple), so that a traced row equals its recorded copy."""
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


_ACTIVATIONS = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Sigmoid: "sigmoid", nn.Silu: "silu", nn.Swish: "swish",
                nn.Hardswish: "hardswish", nn.Tanh: "tanh"}

LAYER_RULES: Dict[type, LayerRule] = {
    nn.Conv2D: LayerRule("conv2d", _conv2d_settings, _conv2d_shape, _conv2d_macs),
    nn.MaxPool2D: LayerRule("max_pool2d", _pool_settings, _pool_shape),
    nn.AvgPool2D: LayerRule("avg_pool2d", _pool_settings, _pool_shape),
    nn.AdaptiveAvgPool2D: LayerRule(
        "adaptive_avg_pool2d", lambda layer, shape: adaptive_settings(layer._output_size, layer._data_format),
        lambda layer, shape, s: adaptive_shape(s, shape)),
    nn.AdaptiveMaxPool2D: LayerRule(
        "adaptive_max_pool2d", lambda layer, shape: adaptive_settings(layer._output_size),
        lambda layer, shape, s: adaptive_shape(s, shape)),
    nn.BatchNorm2D: LayerRule("batch_norm", _batch_norm_settings, _batch_norm_shape),
    nn.BatchNorm: LayerRule("batch_norm", _batch_norm_settings, _batch_norm_shape),
    nn.Linear: LayerRule("linear", _linear_settings, _linear_shape, _linear_macs),
    nn.Flatten: LayerRule("flatten", lambda layer, shape: flatten_settings(layer.start_axis, layer.stop_axis, shape),
                          lambda layer, shape, s: flattened_shape(s, shape)),
    nn.LeakyReLU: LayerRule("leaky_relu", _attributes(negative_slope="_negative_slope"), _same_shape),
    nn.GELU: LayerRule("gelu", _attributes(approximate="_approximate"), _same_shape),
    nn.Softmax: LayerRule("softmax", lambda layer, shape: {"axis": axis_index(layer._axis, len(shape))}, _same_shape),
    nn.Dropout: LayerRule("dropout", _attributes(p="p", axis="axis", mode="mode"), _same_shape),
    nn.Dropout2D: LayerRule("dropout2d", _attributes(p="p", data_format="data_format"), _same_shape),
    nn.Identity: LayerRule("identity", _no_settings, _same_shape),
    # nn.Hardsigmoid always calls F.hardsigmoid with its default slope and offset: the settings of that call.
    nn.Hardsigmoid: LayerRule("hardsigmoid", lambda layer, shape: {"slope": 0.1666667, "offset": 0.5}, _same_shape),
    **{cls: LayerRule(op, _no_settings, _same_shape) for cls, op in _ACTIVATIONS.items()},
}


def rule_for(layer) -> Optional[LayerRule]:
    """The rule of ``layer``: its own ``shape_rule`` method if its class defines one, else the rule of the
    nearest Paddle class it derives from, else ``None``. A subclass of a Paddle layer computes what its Paddle
    base class computes unless it overrides ``forward`` (PaddleClas's ``AdaptiveAvgPool2D``): then it has no
    rule, and the trace follows its ``forward``."""
    if getattr(type(layer), "shape_rule", None) is not None:
        return _OWN_RULE
    for cls in type(layer).__mro__:
        if cls in LAYER_RULES:
            return LAYER_RULES[cls]
        if "forward" in cls.__dict__:
            return None
    return None


def _own(layer, shape):
    try:
        return layer.shape_rule(list(shape))
    except ValueError as error:  # the layer's own way of saying the input does not fit
        raise TraceError(str(error)) from None


_OWN_RULE = LayerRule(op="", settings=lambda layer, shape: dict(_own(layer, shape)[2]),
                      shape=lambda layer, shape, settings: list(_own(layer, shape)[0]),
                      macs=lambda layer, shape, out: int(_own(layer, shape)[1]))


def has_own_rule(layer) -> bool:
    """Whether ``layer``'s class declares ``shape_rule`` (it is then traced as one opaque row)."""
    return rule_for(layer) is _OWN_RULE
