"""Record what every layer of a model does on one input: type, shapes, parameters, MACs, conv/pool settings.

``trace(model, input_size)`` runs the model's own ``forward`` code and records one ``LayerCall`` per layer
call, children before their parent (as ``paddle.summary`` lists them). Two ways to run it:

- ``symbolic`` (the default): leaf layers (convolutions, norms, pools, ...) are not executed; a shape rule
  computes each output shape from the layer's own settings (stride, padding, ...), so tracing ResNet-152 at
  224x224 takes milliseconds and even works on a model built under ``paddle.LazyGuard`` (no weights).
- ``eager``: everything runs for real on a random input. Slower; used as the fallback when a model calls
  something the symbolic trace has no rule for, and by the tests to check the shape rules against Paddle.

The rules read the same attributes Paddle's kernels use (``_stride``, ``_updated_padding`` ...), so a layer
whose settings were changed after construction is traced as it would really run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

import numpy as np
import paddle
from paddle import nn

from .blocks import ZeroPadShortcut

MODES = ("auto", "symbolic", "eager")


class TraceError(RuntimeError):
    """The model cannot run on the given input (a shape mismatch inside, or a wrong input size).

    ``where`` is the name of the innermost layer the problem happened in, once known.
    """

    where = None


class UnsupportedLayer(TraceError):
    """The symbolic trace met a layer or an operation it has no shape rule for."""


@dataclass
class LayerCall:
    """One call of one layer during a trace."""

    name: str  # path in the model, e.g. "layer1.0.conv1"; "" for the model itself
    type: str  # class name, e.g. "Conv2D"
    input_shapes: List[List[int]]
    output_shape: list
    params: int  # the layer's own parameters (not its sublayers'), as paddle.summary counts them
    trainable_params: int
    macs: int  # multiply-accumulates of this call, for one image, bias excluded
    settings: Dict[str, object] = field(default_factory=dict)  # kernel/stride/padding/... of convs and pools
    is_container: bool = False  # has sublayers (a block, a Sequential, the model)

    @property
    def stage(self) -> str:
        """``stem``, ``layer<k>`` or ``head``: the part of a ResNet this call belongs to (by its name)."""
        top = self.name.split(".")[0]
        if top.startswith("layer") and top[len("layer"):].isdigit():
            return top
        return "head" if top in ("avgpool", "flatten", "fc") else "stem"


class ShapeOnly:
    """Stands in for a tensor in a symbolic trace: it has a shape and supports what residual code does to
    tensors (``shape``, ``ndim``, ``+``); anything else raises ``UnsupportedLayer``."""

    def __init__(self, shape: Sequence[int]):
        self.shape = [int(d) for d in shape]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    def __add__(self, other):
        other_shape = other.shape if isinstance(other, ShapeOnly) else list(np.shape(other))
        try:
            return ShapeOnly(np.broadcast_shapes(tuple(self.shape), tuple(other_shape)))
        except ValueError:
            raise TraceError(f"cannot add tensors of shapes {self.shape} and {list(other_shape)}") from None

    __radd__ = __add__

    def __getattr__(self, name):
        raise UnsupportedLayer(f"the symbolic trace has no rule for tensor attribute or method {name!r}")

    def __repr__(self):
        return f"ShapeOnly({self.shape})"


# ---------------------------------------------------------------------------------------------- shape rules
# Each rule maps (layer, input shape) to (output shape, settings recorded for the fingerprint).


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
    if isinstance(layer.padding, str) or getattr(layer, "data_format", "NCHW") != "NCHW":
        raise UnsupportedLayer("symbolic trace supports NCHW pools with explicit padding only")
    kernel = _pair(layer.ksize)
    stride = kernel if layer.stride is None else _pair(layer.stride)
    pads = _pair(layer.padding)
    if len(pads) == 2:
        pads = [pads[0], pads[0], pads[1], pads[1]]
    out_hw = [_window_out(size, k, s, pads[2 * i], pads[2 * i + 1], ceil_mode=layer.ceil_mode)
              for i, (size, k, s) in enumerate(zip(shape[2:], kernel, stride))]
    settings = {"kernel": kernel, "stride": stride, "padding": pads, "ceil_mode": bool(layer.ceil_mode)}
    return [*shape[:2], *out_hw], 0, settings


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


def _zero_pad_shortcut(layer, shape):
    _expect_nchw(layer, shape, layer.in_channels)
    out_hw = [math.ceil(size / layer.stride) for size in shape[2:]]
    return [shape[0], layer.out_channels, *out_hw], 0, {"stride": [layer.stride] * 2}


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
    ZeroPadShortcut: _zero_pad_shortcut,
    **{activation: _same_shape for activation in (
        nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.Sigmoid, nn.Silu, nn.Swish, nn.Hardswish, nn.Tanh,
        nn.Identity, nn.Dropout, nn.Dropout2D)},
}

# Layers whose settings go into the record even when they run eagerly (the same helpers read them).
_SETTINGS_OF = {nn.Conv2D: _conv2d, nn.MaxPool2D: _pool2d, nn.AvgPool2D: _pool2d,
                nn.AdaptiveAvgPool2D: _adaptive_pool2d, nn.AdaptiveMaxPool2D: _adaptive_pool2d,
                nn.Linear: _linear, ZeroPadShortcut: _zero_pad_shortcut}


def _rule_for(layer):
    for cls in type(layer).__mro__:
        if cls in SHAPE_RULES:
            return SHAPE_RULES[cls]
    return None


# -------------------------------------------------------------------------------------------------- tracing


def normalize_input_size(input_size) -> List[int]:
    """``(1, 3, 224, 224)``, ``(None, 3, 224, 224)`` or ``(3, 224, 224)`` -> ``[1, 3, 224, 224]``."""
    size = list(input_size) if isinstance(input_size, (list, tuple)) else None
    if size is not None and len(size) == 3:
        size = [1, *size]
    if size is not None and size[0] in (None, -1):
        size[0] = 1
    if size is None or len(size) != 4 or not all(isinstance(d, int) and d > 0 for d in size):
        raise ValueError(f"input_size={input_size!r}: expected (batch, channels, height, width) or "
                         "(channels, height, width) with positive ints, e.g. (1, 3, 224, 224)")
    return size


def _own_params(layer):
    total = trainable = 0
    for param in layer._parameters.values():
        if param is None:
            continue
        size = int(np.prod(param.shape))
        total += size
        if param.trainable and not param.stop_gradient:
            trainable += size
    return total, trainable


def _shape_of(value):
    if isinstance(value, (list, tuple)):
        return [_shape_of(v) for v in value]
    return [int(d) for d in value.shape] if hasattr(value, "shape") else []


def trace(model: nn.Layer, input_size, mode: str = "auto") -> List[LayerCall]:
    """Run ``model`` on an input of ``input_size`` and return one ``LayerCall`` per layer call.

    Args:
        model: any ``paddle.nn.Layer``; left exactly as it was (mode, weights, attributes).
        input_size: ``(batch, channels, height, width)`` as ``paddle.summary`` takes it, or
            ``(channels, height, width)``.
        mode: ``"symbolic"`` (no kernels run), ``"eager"`` (everything runs on random input, in eval mode,
            without gradients) or ``"auto"``: symbolic, falling back to eager for unsupported layers.

    Raises:
        TraceError: the model cannot run on this input (a shape mismatch); the message says where.

    >>> from paddle_resnet import resnet18
    >>> calls = trace(resnet18(), (1, 3, 224, 224))
    >>> calls[0].type, calls[0].output_shape, calls[0].macs
    ('Conv2D', [1, 64, 112, 112], 118013952)
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {', '.join(MODES)}")
    size = normalize_input_size(input_size)
    if mode == "auto":
        try:
            return _run(model, size, symbolic=True)
        except UnsupportedLayer:
            return _run(model, size, symbolic=False)
    return _run(model, size, symbolic=mode == "symbolic")


def _run(model, size, symbolic: bool) -> List[LayerCall]:
    calls: List[LayerCall] = []
    layers = list(model.named_sublayers(include_self=True))
    # A layer may carry its own instance-level forward (patched code); keep it to put it back afterwards.
    own_forwards = [layer.__dict__.get("forward") for _, layer in layers]

    def wrap(name, layer):
        original = layer.forward
        rule = _rule_for(layer) if symbolic and not layer._sub_layers else None
        if symbolic and not layer._sub_layers and rule is None:
            raise UnsupportedLayer(f"no shape rule for {type(layer).__name__} ({name})")
        settings_of = next((f for cls, f in _SETTINGS_OF.items() if isinstance(layer, cls)), None)

        def forward(*inputs, **kwargs):
            try:
                return run(*inputs, **kwargs)
            except TraceError as error:
                if error.where is not None:
                    raise
                located = type(error)(f"{name or type(layer).__name__}: {error}")
                located.where = name
                raise located from None

        def run(*inputs, **kwargs):
            shapes = [_shape_of(x) for x in inputs]
            if rule is not None:
                out_shape, macs, settings = _apply(rule, layer, name, shapes)
                output = ShapeOnly(out_shape)
            else:
                output = original(*inputs, **kwargs)
                out_shape = _shape_of(output)
                macs, settings = 0, {}
                if settings_of is not None:
                    _, macs, settings = _apply(settings_of, layer, name, shapes)
            own, own_trainable = _own_params(layer)
            calls.append(LayerCall(name, type(layer).__name__, shapes, out_shape, own, own_trainable, macs,
                                   settings, bool(layer._sub_layers)))
            return output

        return forward

    modes = [layer.training for _, layer in layers]  # restored per layer: a frozen part may be in eval mode
    for name, layer in layers:
        layer.forward = wrap(name, layer)
    try:
        if symbolic:
            model(ShapeOnly(size))
        else:
            model.eval()
            with paddle.no_grad():
                model(paddle.rand(size))
    except TraceError:
        raise
    except (ValueError, TypeError, AttributeError, RuntimeError) as error:
        where = f"after layer {calls[-1].name!r}" if calls else "before any layer ran"
        if symbolic:  # only the model's own Python ran: it did something to a tensor we have no rule for
            raise UnsupportedLayer(f"symbolic trace stopped {where}: {error}") from error
        raise TraceError(f"the model does not run on input {size} ({where}): {error}") from error
    finally:
        for (_, layer), training, own in zip(layers, modes, own_forwards):
            del layer.forward
            if own is not None:
                layer.forward = own
            layer.training = training
    return calls


def _apply(rule, layer, name, shapes):
    if len(shapes) != 1:
        raise UnsupportedLayer(f"{name}: expected one input, got {len(shapes)}")
    return rule(layer, shapes[0])


def structural_calls(calls: List[LayerCall]) -> List[LayerCall]:
    """The calls that describe the structure, in forward order: every layer except the model itself,
    pure containers (``Sequential``, ``LayerList``) and ``Flatten``.

    ``Flatten`` is left out because it is a reshape that some models write as a layer and others (like
    ``paddle.vision``) as a function call; leaving it out lets equivalent models compare equal.
    """
    return [c for c in calls
            if c.name and c.type not in ("Sequential", "LayerList", "Flatten")]


def stage_summary(calls: List[LayerCall]) -> Dict[str, dict]:
    """Per ResNet stage (``stem``, ``layer1``..., ``head``): blocks, output shape, parameters, MACs.

    Parameters count every parameter of the stage's layers (``paddle.summary``'s total convention).
    """
    stages: Dict[str, dict] = {}
    for call in calls:
        if not call.name:
            continue
        stage = stages.setdefault(call.stage, {"blocks": 0, "output_shape": None, "params": 0, "macs": 0})
        stage["params"] += call.params
        stage["macs"] += call.macs
        if call.type not in ("Sequential", "LayerList", "Flatten"):
            stage["output_shape"] = call.output_shape
        if call.name.count(".") == 1 and call.stage.startswith("layer"):
            stage["blocks"] += 1
    return stages
