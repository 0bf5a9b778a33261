"""Record what every layer of a model does on one input: type, shapes, parameters, MACs, conv/pool settings.

``trace(model, input_size)`` runs the model's own ``forward`` code and records one ``LayerCall`` per layer
call, children before their parent (as ``paddle.summary`` lists them). Two ways to run it:

- ``symbolic`` (the default): leaf layers (convolutions, norms, pools, ...) are not executed; a shape rule
  computes each output shape from the layer's own settings (stride, padding, ...), so tracing ResNet-152 at
  224x224 takes milliseconds and even works on a model built under ``paddle.LazyGuard`` (no weights).
- ``eager``: everything runs for real on a random input. Slower; used as the fallback when a model calls
  something the symbolic trace has no rule for, and by the tests to check the shape rules against Paddle.

The shape rules are in ``shape_rules.py``. The tracer knows layers, not ResNet: it works on any
``paddle.nn.Layer``, and names every call by its sublayer path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence

import numpy as np
import paddle
from paddle import nn

from .._checks import normalize_input_size
from .shape_rules import TraceError, UnsupportedLayer, rule_for, settings_rule_for

MODES = ("auto", "symbolic", "eager")


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


# -------------------------------------------------------------------------------------------------- tracing


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
        rule = rule_for(layer) if symbolic and not layer._sub_layers else None
        if symbolic and not layer._sub_layers and rule is None:
            raise UnsupportedLayer(f"no shape rule for {type(layer).__name__} ({name})")
        settings_of = settings_rule_for(layer)

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
