"""Functional operations: the Paddle functions and tensor operators a model's own ``forward`` code calls between
its layers (the residual ``+``, ``paddle.add``, ``paddle.concat``, ``F.relu``, ``paddle.flatten``, slicing ...).

The trace records them like layers, so that the computation *between* layers is part of the structure: removing
a residual addition, moving a ReLU before it, or padding zeros on the other side all change the record. Each
``Op`` names the Paddle functions it stands for and has a rule that reads, from the call's own arguments, the
tensors it consumes, its settings and its output shape, without running it. The rule for the functional form and
the layer form of an operation give the same settings (``F.max_pool2d`` and ``nn.MaxPool2D``), so the two ways of
writing a model trace alike.

Every other public function Paddle exposes (``paddle.*``, ``paddle.nn.functional.*``, the math methods of
``paddle.Tensor``) is an operation too, without a rule (``unruled``): the eager trace runs it and records it by
name, with its non-tensor arguments as settings (``call_settings``); in the symbolic trace it makes the trace fall
back to the eager one.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import paddle

from .._checks import is_int
from .shape_rules import (TraceError, UnsupportedLayer, adaptive_settings, adaptive_shape, axis_index,
                          flatten_settings, flattened_shape, pool_settings, pooled_shape)


class SymbolicTensor:
    """Base of the symbolic trace's stand-in for a tensor (``trace.ShapeOnly``); the rules only read ``shape``."""

    shape: List[int]


def is_tensor(value) -> bool:
    return isinstance(value, (paddle.Tensor, SymbolicTensor))


def shape_of(value) -> List[int]:
    return [int(d) for d in value.shape]


class Applied(NamedTuple):
    """What a rule read from one call: the values it consumes (tensors and literal operands, in order), its
    settings, and its output shape (a list of shapes for an operation that returns several tensors)."""

    inputs: list
    settings: dict
    shape: List[int]


@dataclass(frozen=True)
class Op:
    """One operation: its name, the Paddle functions that perform it, and its rule.

    ``commutative``: the order of the inputs does not matter (``a + b`` is ``b + a``). ``creates``: it makes a
    tensor from no tensor input (``paddle.zeros``), so it is recorded even though nothing traced flows into it.
    ``several``: it returns a list of tensors (``paddle.split``); each consumer's row then names the output it
    reads (``block:split[1]``). ``rule`` is ``None`` for an operation recorded only by name (``unruled``).
    """

    name: str
    functions: Tuple[str, ...]
    rule: Optional[Callable]
    commutative: bool = False
    creates: bool = False
    several: bool = False


ANY = object()


def _accept(kwargs, **ignorable):
    """Arguments newer Paddle versions add (``out=None``, ``device=...``) that do not change the result: each
    must have the value given here (or any value, for ``ANY``)."""
    for key, value in kwargs.items():
        if key not in ignorable or (ignorable[key] is not ANY and value != ignorable[key]):
            raise UnsupportedLayer(f"no rule for the argument {key}={value!r}")


def broadcast(*shapes) -> List[int]:
    """The shape two tensors broadcast to (NumPy's rule); ``ValueError`` if they do not."""
    ndim = max(len(shape) for shape in shapes)
    out = []
    for sizes in zip(*([1] * (ndim - len(shape)) + list(shape) for shape in shapes)):
        bigger = {size for size in sizes if size != 1}
        if len(bigger) > 1:
            raise ValueError(f"shapes {list(shapes)} do not broadcast")
        out.append(bigger.pop() if bigger else 1)
    return out


_VERBS = {"add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide", "maximum": "take the "
          "maximum of", "minimum": "take the minimum of"}


def _binary(op):
    def rule(x, y, name=None, alpha=1, **kwargs):
        _accept(kwargs, out=None, rounding_mode=None)
        shapes = [shape_of(v) if is_tensor(v) else [] for v in (x, y)]
        try:
            out = broadcast(*shapes)
        except ValueError:
            raise TraceError(f"cannot {_VERBS[op]} tensors of shapes {shapes[0]} and {shapes[1]}") from None
        return Applied([x, y], {} if alpha == 1 else {"alpha": alpha}, out)
    return rule


def _unary(*names, **defaults):
    """A rule for an elementwise function ``f(x, <names>...)``: the named arguments are its settings."""
    def rule(x, *args, name=None, **kwargs):
        _accept({k: v for k, v in kwargs.items() if k not in names}, out=None, inplace=ANY, dtype=None)
        values = dict(defaults)
        values.update(zip(names, args))
        values.update({k: v for k, v in kwargs.items() if k in names})
        return Applied([x], values, shape_of(x))
    return rule


def _softmax(x, axis=-1, dtype=None, name=None, **kwargs):
    _accept(kwargs, out=None)
    return Applied([x], {"axis": axis_index(axis, len(x.shape))}, shape_of(x))


def _flatten(x, start_axis=0, stop_axis=-1, name=None):
    settings = flatten_settings(start_axis, stop_axis, shape_of(x))
    return Applied([x], settings, flattened_shape(settings, shape_of(x)))


def _reshape(x, shape, name=None):
    if is_tensor(shape) or any(is_tensor(d) for d in shape):
        raise UnsupportedLayer("no rule for a reshape to a shape held in a tensor")
    given, source = [int(d) for d in shape], shape_of(x)
    out = [source[i] if d == 0 else d for i, d in enumerate(given)]
    if out.count(-1) == 1:
        known = math.prod(d for d in out if d != -1)
        out[out.index(-1)] = math.prod(source) // max(known, 1)
    if math.prod(out) != math.prod(source):
        raise TraceError(f"cannot reshape a tensor of shape {source} to {given}")
    return Applied([x], {"shape": given}, out)


def _transpose(x, perm, name=None):
    shape = shape_of(x)
    perm = [axis_index(p, len(shape)) for p in perm]
    if sorted(perm) != list(range(len(shape))):
        raise TraceError(f"perm {perm} is not a permutation of the {len(shape)} axes of shape {shape}")
    return Applied([x], {"perm": perm}, [shape[p] for p in perm])


def _axes(axis, ndim) -> List[int]:
    return sorted(axis_index(a, ndim) for a in (axis if isinstance(axis, (list, tuple)) else [axis]))


def _squeeze(x, axis=None, name=None):
    shape = shape_of(x)
    axes = [i for i, d in enumerate(shape) if d == 1] if axis is None else _axes(axis, len(shape))
    return Applied([x], {"axis": axes}, [d for i, d in enumerate(shape) if not (i in axes and d == 1)])


def _unsqueeze(x, axis, name=None):
    out = shape_of(x)
    axes = [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    for a in axes:
        out.insert(a % (len(out) + 1), 1)
    return Applied([x], {"axis": axes}, out)


def _reduction(x, axis=None, keepdim=False, name=None, **kwargs):
    _accept(kwargs, out=None, dtype=None)
    shape = shape_of(x)
    axes = list(range(len(shape))) if axis is None or axis == [] else _axes(axis, len(shape))
    out = [1 if i in axes else d for i, d in enumerate(shape)] if keepdim else \
        [d for i, d in enumerate(shape) if i not in axes]
    return Applied([x], {"axis": axes, "keepdim": bool(keepdim)}, out)


def _sum(x, axis=None, dtype=None, keepdim=False, name=None, **kwargs):
    return _reduction(x, axis, keepdim, **kwargs)


def _matmul(x, y, transpose_x=False, transpose_y=False, name=None, **kwargs):
    _accept(kwargs, out=None)
    a, b = shape_of(x), shape_of(y)
    drop = [len(a) == 1, len(b) == 1]
    a, b = ([1, *a] if drop[0] else a), ([*b, 1] if drop[1] else b)
    if transpose_x and not drop[0]:
        a = [*a[:-2], a[-1], a[-2]]
    if transpose_y and not drop[1]:
        b = [*b[:-2], b[-1], b[-2]]
    if a[-1] != b[-2]:
        raise TraceError(f"cannot multiply matrices of shapes {shape_of(x)} and {shape_of(y)}")
    try:
        batch = broadcast(a[:-2], b[:-2])
    except ValueError:
        raise TraceError(f"cannot multiply matrices of shapes {shape_of(x)} and {shape_of(y)}") from None
    out = [*batch, *([] if drop[0] else [a[-2]]), *([] if drop[1] else [b[-1]])]
    return Applied([x, y], {"transpose_x": bool(transpose_x), "transpose_y": bool(transpose_y)}, out)


def _joined(x: Sequence, axis, what):
    if is_tensor(axis):
        raise UnsupportedLayer(f"no rule for a {what} along an axis held in a tensor")
    if not isinstance(x, (list, tuple)) or not x or not all(is_tensor(v) for v in x):
        raise UnsupportedLayer(f"no rule for a {what} of {type(x).__name__}")
    return [shape_of(v) for v in x]


def _concat(x, axis=0, name=None, **kwargs):
    _accept(kwargs, out=None)
    shapes = _joined(x, axis, "concatenation")
    axis = axis_index(axis, len(shapes[0]))
    rest = {tuple(s[:axis] + s[axis + 1:]) for s in shapes}
    if len(rest) != 1 or len({len(s) for s in shapes}) != 1:
        raise TraceError(f"cannot concatenate tensors of shapes {shapes} along axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return Applied(list(x), {"axis": axis}, out)


def _stack(x, axis=0, name=None, **kwargs):
    _accept(kwargs, out=None)
    shapes = _joined(x, axis, "stack")
    if len({tuple(s) for s in shapes}) != 1:
        raise TraceError(f"cannot stack tensors of shapes {shapes}")
    axis = axis_index(axis, len(shapes[0]) + 1)
    return Applied(list(x), {"axis": axis}, [*shapes[0][:axis], len(shapes), *shapes[0][axis:]])


def _creation(fill=None):
    def rule(shape, *args, dtype=None, name=None, **kwargs):
        _accept(kwargs, out=None, device=ANY, requires_grad=ANY, pin_memory=ANY)
        if is_tensor(shape) or any(is_tensor(d) for d in shape):
            raise UnsupportedLayer("no rule for a tensor whose shape is held in a tensor")
        settings = {"shape": [int(d) for d in shape]}
        if fill is not None:
            settings["value"] = kwargs.get("fill_value", args[0] if args else None)
        return Applied([], settings, settings["shape"])
    return rule


def _creation_like(fill=False):
    def rule(x, *args, dtype=None, name=None, **kwargs):
        value = kwargs.pop("fill_value", args[0] if args else None)
        _accept(kwargs, device=ANY, requires_grad=ANY, pin_memory=ANY)
        return Applied([x], {"value": value} if fill else {}, shape_of(x))
    return rule


def _max_pool2d(x, kernel_size, stride=None, padding=0, return_mask=False, ceil_mode=False, data_format="NCHW",
                name=None):
    if return_mask:
        raise UnsupportedLayer("no rule for a max pool that returns its mask")
    settings = pool_settings(kernel_size, stride, padding, ceil_mode, data_format, shape_of(x))
    return Applied([x], settings, pooled_shape(settings, shape_of(x), padding))


def _avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, exclusive=True, divisor_override=None,
                data_format="NCHW", name=None):
    settings = pool_settings(kernel_size, stride, padding, ceil_mode, data_format, shape_of(x),
                             exclusive=bool(exclusive), divisor=divisor_override)
    return Applied([x], settings, pooled_shape(settings, shape_of(x), padding))


def _adaptive_avg_pool2d(x, output_size, data_format="NCHW", name=None):
    settings = adaptive_settings(output_size, data_format)
    return Applied([x], settings, adaptive_shape(settings, shape_of(x)))


def _adaptive_max_pool2d(x, output_size, return_mask=False, name=None):
    if return_mask:
        raise UnsupportedLayer("no rule for a max pool that returns its mask")
    settings = adaptive_settings(output_size)
    return Applied([x], settings, adaptive_shape(settings, shape_of(x)))


def _pad(x, pad, mode="constant", value=0.0, data_format="NCHW", name=None, pad_from_left_axis=True):
    if is_tensor(pad):
        raise UnsupportedLayer("no rule for a padding held in a tensor")
    shape, pad = shape_of(x), [int(p) for p in pad]
    out = list(shape)
    if len(pad) == 2 * len(shape) and pad_from_left_axis:  # every axis, from the first
        out = [d + pad[2 * i] + pad[2 * i + 1] for i, d in enumerate(shape)]
    elif len(shape) == 4 and len(pad) == 4 and data_format == "NCHW":  # left, right, top, bottom
        out = [*shape[:2], shape[2] + pad[2] + pad[3], shape[3] + pad[0] + pad[1]]
    else:
        raise UnsupportedLayer(f"no rule for padding a tensor of shape {shape} with {pad}")
    settings = {"pad": pad, "mode": mode, "value": float(value), "data_format": data_format}
    return Applied([x], settings, out)


def _dropout(x, p=0.5, axis=None, training=True, mode="upscale_in_train", name=None, **kwargs):
    _accept(kwargs, inplace=ANY)
    return Applied([x], {"p": p, "axis": axis, "mode": mode}, shape_of(x))


def _dropout2d(x, p=0.5, training=True, data_format="NCHW", name=None):
    return Applied([x], {"p": p, "data_format": data_format}, shape_of(x))


def _interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=False, align_mode=0,
                 data_format=None, name=None, **kwargs):
    _accept(kwargs, recompute_scale_factor=None, antialias=False)
    shape, data_format = shape_of(x), data_format or "NCHW"
    if len(shape) != 4 or data_format != "NCHW" or is_tensor(size) or is_tensor(scale_factor):
        raise UnsupportedLayer("the symbolic trace interpolates 4-D NCHW tensors to a given size or scale only")
    if size is not None:
        if not isinstance(size, (list, tuple)):  # Paddle 3.3's kernel wants a list: let the eager trace decide
            raise UnsupportedLayer(f"no rule for interpolating to a size of {size!r}")
        out_hw = [int(s) for s in size]
    elif scale_factor is not None:
        scales = scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * 2
        out_hw = [int(math.floor(d * float(s))) for d, s in zip(shape[2:], scales)]
    else:
        raise TraceError("interpolate needs a size or a scale_factor")
    if min(out_hw) < 1:
        raise TraceError(f"interpolating shape {shape} to size {size} or by {scale_factor} leaves no pixels")
    settings = {"size": size, "scale_factor": scale_factor, "mode": mode, "align_corners": bool(align_corners),
                "align_mode": align_mode, "data_format": data_format}
    return Applied([x], settings, [*shape[:2], *out_hw])


def _split_axis(x, axis, what) -> Tuple[List[int], int]:
    if is_tensor(axis):
        raise UnsupportedLayer(f"no rule for a {what} along an axis held in a tensor")
    shape = shape_of(x)
    return shape, axis_index(axis, len(shape))


def _parts(shape, axis, sizes) -> List[List[int]]:
    return [[*shape[:axis], size, *shape[axis + 1:]] for size in sizes]


def _split(x, num_or_sections, axis=0, name=None):
    """``paddle.split``: ``sections`` are the sizes of the parts along ``axis``, however they were given (a
    number of equal parts, or sizes with at most one ``-1``), so the two spellings record alike."""
    shape, axis = _split_axis(x, axis, "split")
    size = shape[axis]
    if is_int(num_or_sections):
        parts = int(num_or_sections)
        if parts < 1 or size % parts:
            raise TraceError(f"cannot split axis {axis} of shape {shape} into {parts} equal parts")
        sizes = [size // parts] * parts
    elif isinstance(num_or_sections, (list, tuple)) and all(is_int(s) for s in num_or_sections):
        sizes = [int(s) for s in num_or_sections]
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = size - sum(sizes) - 1
        if not sizes or any(s < 0 for s in sizes) or sum(sizes) != size:
            raise TraceError(f"cannot split axis {axis} of shape {shape} into parts of {list(num_or_sections)}")
    else:
        raise UnsupportedLayer(f"no rule for a split into {num_or_sections!r}")
    return Applied([x], {"sections": sizes, "axis": axis}, _parts(shape, axis, sizes))


def _chunk(x, chunks, axis=0, name=None):
    if not is_int(chunks):
        raise UnsupportedLayer(f"no rule for {chunks!r} chunks")
    return _split(x, int(chunks), axis)


def _unbind(input, axis=0):  # noqa: A002  Paddle's own parameter name
    shape, axis = _split_axis(input, axis, "unbind")
    return Applied([input], {"axis": axis}, [shape[:axis] + shape[axis + 1:]] * shape[axis])


def _clip(x, min=None, max=None, name=None, **kwargs):  # noqa: A002  Paddle's own parameter names
    _accept(kwargs, out=None)
    bounds = {"min": min, "max": max}
    if any(is_tensor(v) for v in bounds.values()):
        raise UnsupportedLayer("no rule for a clip to bounds held in tensors")
    if min is not None and max is not None and float(min) > float(max):
        raise TraceError(f"cannot clip to [{min}, {max}]: min is greater than max")
    return Applied([x], {k: None if v is None else float(v) for k, v in bounds.items()}, shape_of(x))


_SIGNATURES: Dict[int, Optional[inspect.Signature]] = {}
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _holds_tensor(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_tensor(v) for v in value.values())
    return is_tensor(value)


def call_settings(function, args, kwargs) -> dict:
    """The settings of a call of a function without a rule: the non-tensor arguments it was given, by parameter
    name (so ``f(x, 1)`` and ``f(x, axis=1)`` record alike); ``arg0, arg1, ...`` for a function whose signature
    Python cannot read (a C function). Defaults are left out: Paddle versions add parameters (``out=None``)."""
    if id(function) not in _SIGNATURES:
        try:
            _SIGNATURES[id(function)] = inspect.signature(function)
        except (TypeError, ValueError):
            _SIGNATURES[id(function)] = None
    signature = _SIGNATURES[id(function)]
    arguments = None
    if signature is not None:
        try:
            bound = signature.bind(*args, **kwargs)
            arguments = {key: value for key, value in bound.arguments.items()  # no empty *args, **kwargs
                         if signature.parameters[key].kind not in _VARIADIC or len(value)}
        except TypeError:
            pass
    if arguments is None:
        arguments = {**{f"arg{i}": value for i, value in enumerate(args)}, **kwargs}
    return {key: value for key, value in arguments.items() if key != "name" and not _holds_tensor(value)}


def unruled(name: str) -> Op:
    """An operation without a rule, recorded by ``name`` (see the module docstring)."""
    return Op(name, (), None)


def _index_text(item) -> str:
    if item is Ellipsis:
        return "..."
    if item is None:
        return "None"
    if isinstance(item, slice):
        text = f"{'' if item.start is None else item.start}:{'' if item.stop is None else item.stop}"
        return text + ("" if item.step is None else f":{item.step}")
    return str(int(item))


def _getitem(x, item):
    items = item if isinstance(item, tuple) else (item,)
    for index in items:
        if not (index is None or index is Ellipsis or is_int(index) or (isinstance(index, slice) and all(
                v is None or is_int(v) for v in (index.start, index.stop, index.step)))):
            raise UnsupportedLayer("no rule for indexing with tensors, lists or arrays")
    shape, out, axis = shape_of(x), [], 0
    real = sum(1 for index in items if index is not None and index is not Ellipsis)
    if real > len(shape):
        raise TraceError(f"too many indices for a tensor of shape {shape}")
    for index in items:
        if index is Ellipsis:
            out += shape[axis:axis + len(shape) - real]
            axis += len(shape) - real
        elif index is None:
            out.append(1)
        elif isinstance(index, slice):
            out.append(len(range(*index.indices(shape[axis]))))
            if not out[-1]:  # Paddle 2.6 rejects some empty slices that 3.x accepts: let the eager trace decide
                raise UnsupportedLayer(f"no rule for the empty slice {_index_text(index)} of shape {shape}")
            axis += 1
        else:
            if not -shape[axis] <= index < shape[axis]:
                raise TraceError(f"index {index} is out of range for axis {axis} of shape {shape}")
            axis += 1
    out += shape[axis:]
    return Applied([x], {"index": ", ".join(_index_text(index) for index in items)}, out)


def _reversed(rule):
    """The rule of a reflected operator (``__radd__``: ``other + self``)."""
    return lambda x, y: rule(y, x)


F = "paddle.nn.functional."
OPS: List[Op] = [
    Op("add", ("paddle.add",), _binary("add"), commutative=True),
    Op("subtract", ("paddle.subtract",), _binary("subtract")),
    Op("multiply", ("paddle.multiply",), _binary("multiply"), commutative=True),
    Op("divide", ("paddle.divide",), _binary("divide")),
    Op("maximum", ("paddle.maximum",), _binary("maximum"), commutative=True),
    Op("minimum", ("paddle.minimum",), _binary("minimum"), commutative=True),
    Op("matmul", ("paddle.matmul",), _matmul),
    Op("concat", ("paddle.concat",), _concat),
    Op("stack", ("paddle.stack",), _stack),
    Op("split", ("paddle.split",), _split, several=True),
    Op("chunk", ("paddle.chunk",), _chunk, several=True),
    Op("unbind", ("paddle.unbind",), _unbind, several=True),
    Op("clip", ("paddle.clip",), _clip),
    Op("flatten", ("paddle.flatten",), _flatten),
    Op("reshape", ("paddle.reshape",), _reshape),
    Op("transpose", ("paddle.transpose",), _transpose),
    Op("squeeze", ("paddle.squeeze",), _squeeze),
    Op("unsqueeze", ("paddle.unsqueeze",), _unsqueeze),
    Op("mean", ("paddle.mean",), _reduction),
    Op("sum", ("paddle.sum",), _sum),
    Op("zeros", ("paddle.zeros",), _creation(), creates=True),
    Op("ones", ("paddle.ones",), _creation(), creates=True),
    Op("full", ("paddle.full",), _creation(fill=True), creates=True),
    Op("zeros_like", ("paddle.zeros_like",), _creation_like()),
    Op("ones_like", ("paddle.ones_like",), _creation_like()),
    Op("full_like", ("paddle.full_like",), _creation_like(fill=True)),
    Op("relu", (F + "relu", F + "relu_"), _unary()),
    Op("relu6", (F + "relu6",), _unary()),
    Op("sigmoid", (F + "sigmoid", "paddle.sigmoid"), _unary()),
    Op("tanh", (F + "tanh", "paddle.tanh"), _unary()),
    Op("silu", (F + "silu",), _unary()),
    Op("swish", (F + "swish",), _unary()),
    Op("hardswish", (F + "hardswish",), _unary()),
    Op("hardsigmoid", (F + "hardsigmoid",), _unary("slope", "offset", slope=0.1666667, offset=0.5)),
    Op("gelu", (F + "gelu",), _unary("approximate", approximate=False)),
    Op("leaky_relu", (F + "leaky_relu",), _unary("negative_slope", negative_slope=0.01)),
    Op("elu", (F + "elu",), _unary("alpha", alpha=1.0)),
    Op("softmax", (F + "softmax",), _softmax),
    Op("log_softmax", (F + "log_softmax",), _softmax),
    Op("max_pool2d", (F + "max_pool2d",), _max_pool2d),
    Op("avg_pool2d", (F + "avg_pool2d",), _avg_pool2d),
    Op("adaptive_avg_pool2d", (F + "adaptive_avg_pool2d",), _adaptive_avg_pool2d),
    Op("adaptive_max_pool2d", (F + "adaptive_max_pool2d",), _adaptive_max_pool2d),
    Op("pad", (F + "pad",), _pad),
    Op("dropout", (F + "dropout",), _dropout),
    Op("dropout2d", (F + "dropout2d",), _dropout2d),
    Op("interpolate", (F + "interpolate", F + "upsample"), _interpolate),
]

_BY_NAME: Dict[str, Op] = {op.name: op for op in OPS}

#: Tensor operators: ``a + b`` is ``paddle.Tensor.__add__(a, b)``. The reflected ones swap their operands.
OPERATORS: Dict[str, Op] = {
    "__add__": _BY_NAME["add"], "__sub__": _BY_NAME["subtract"], "__mul__": _BY_NAME["multiply"],
    "__truediv__": _BY_NAME["divide"], "__matmul__": _BY_NAME["matmul"],
    "__radd__": Op("add", (), _reversed(_BY_NAME["add"].rule), commutative=True),
    "__rsub__": Op("subtract", (), _reversed(_BY_NAME["subtract"].rule)),
    "__rmul__": Op("multiply", (), _reversed(_BY_NAME["multiply"].rule), commutative=True),
    "__rtruediv__": Op("divide", (), _reversed(_BY_NAME["divide"].rule)),
    "__getitem__": Op("getitem", (), _getitem),
}


def op_named(name: str) -> Op:
    return _BY_NAME[name]
