"""Every rule of the tracer against Paddle's own kernel, on generated arguments (issue 17, item 6).

The symbolic trace never runs Paddle: each function of ``ops.OPS``, each tensor operator and each layer class of
``shape_rules.LAYER_RULES`` has a rule that computes the output shape from the call's arguments. Here each rule
and Paddle's kernel get the same generated call (``hypothesis``, derandomized so that every run draws the same
examples): when the rule gives a shape, the kernel must run and give that shape; when the rule says the call
cannot run (``TraceError``), the kernel must fail too; a rule may decline (``UnsupportedLayer``: the trace then
runs the model instead), but not for every example. ``OP_CASES``/``LAYER_CASES`` hold one generator per rule, and
a rule without one fails ``test_every_rule_has_a_kernel_test``.
"""

from __future__ import annotations

import numpy as np
import paddle
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paddle import nn

from paddle_resnet.analysis.ops import OPERATORS, OPS
from paddle_resnet.analysis.shape_rules import LAYER_RULES, TraceError, UnsupportedLayer
from paddle_resnet.analysis.trace import _resolve

EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

# ----------------------------------------------------------------------------------------- generated arguments


def _tensor(shape):
    return paddle.to_tensor(np.random.default_rng(len(shape)).standard_normal(shape).astype("float32"))


def _shape(draw, min_dims=1, max_dims=4, side=4):
    return draw(st.lists(st.integers(1, side), min_size=min_dims, max_size=max_dims))


def _axis(draw, ndim):
    return draw(st.integers(-ndim, ndim - 1))


def _image(draw, side=9):
    return _tensor([draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, side)),
                    draw(st.integers(1, side))])


OP_CASES = {}


def case(*names):
    def register(function):
        for name in names:
            OP_CASES[name] = function
        return function
    return register


@case("add", "subtract", "multiply", "divide", "maximum", "minimum", "__add__", "__sub__", "__mul__",
      "__truediv__", "__radd__", "__rsub__", "__rmul__", "__rtruediv__")
def _binary(draw, name):
    a = _shape(draw)
    b = [draw(st.sampled_from([d, 1, d + 1])) for d in a[draw(st.integers(0, len(a) - 1)):]]
    x, y = _tensor(a), _tensor(b)
    if name.startswith("__") and draw(st.booleans()):
        y = draw(st.sampled_from([2.0, 0.5, 3]))
    return (x, y) if draw(st.booleans()) or not isinstance(y, paddle.Tensor) else (y, x), {}


@case("matmul", "__matmul__")
def _matmul(draw, name):
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    batch = _shape(draw, 0, 2, 3)
    a = [*batch, m, k] if draw(st.booleans()) else [k]
    b = [*batch[draw(st.integers(0, len(batch))):], draw(st.sampled_from([k, k + 1])), n]
    if draw(st.booleans()):
        b = [b[-2]]
    kwargs = {} if name.startswith("__") else {"transpose_x": False, "transpose_y": draw(st.booleans())}
    if kwargs.get("transpose_y") and len(b) > 1:
        b[-2], b[-1] = b[-1], b[-2]
    return (_tensor(a), _tensor(b)), kwargs


@case("concat", "stack")
def _joined(draw, name):
    shape = _shape(draw)
    axis = _axis(draw, len(shape) + (name == "stack"))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        part = list(shape)
        if name == "concat" and draw(st.booleans()):
            part[axis] = draw(st.integers(1, 3))
        elif draw(st.integers(0, 5)) == 0:  # sometimes a part that does not fit
            part[draw(st.integers(0, len(part) - 1))] += 1
        parts.append(_tensor(part))
    return (parts,), {"axis": axis}


@case("split")
def _split(draw, name):
    shape = _shape(draw)
    axis = _axis(draw, len(shape))
    size = shape[axis]
    if draw(st.booleans()):
        sections = draw(st.integers(1, 4))
    else:
        sections = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
        if draw(st.booleans()):  # sizes that add up, one of them possibly left to Paddle
            sections = [size] if len(sections) == 1 else [*sections[:-1], size - sum(sections[:-1])]
            if draw(st.booleans()):
                sections[draw(st.integers(0, len(sections) - 1))] = -1
    return (_tensor(shape), sections), {"axis": axis}


@case("chunk")
def _chunk(draw, name):
    shape = _shape(draw)
    return (_tensor(shape), draw(st.integers(1, 4))), {"axis": _axis(draw, len(shape))}


@case("unbind")
def _unbind(draw, name):
    shape = _shape(draw)
    return (_tensor(shape),), {"axis": _axis(draw, len(shape))}


@case("clip")
def _clip(draw, name):
    bounds = {key: draw(st.sampled_from([None, -0.5, 0.0, 1.0, 6])) for key in ("min", "max")}
    return (_tensor(_shape(draw)),), {key: value for key, value in bounds.items() if value is not None}


@case("flatten")
def _flatten(draw, name):
    shape = _shape(draw)
    return (_tensor(shape),), {"start_axis": _axis(draw, len(shape)), "stop_axis": _axis(draw, len(shape))}


@case("reshape")
def _reshape(draw, name):
    shape = _shape(draw)
    target = draw(st.permutations(shape))
    if draw(st.booleans()):
        target = [*target[:-2], target[-2] * target[-1]] if len(target) > 1 else target
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    elif draw(st.integers(0, 4)) == 0:
        target = [*target, 2]  # a size that does not fit
    if draw(st.booleans()) and len(target) <= len(shape) and target[0] == shape[0]:
        target[0] = 0  # Paddle's "keep this axis"
    return (_tensor(shape), target), {}


@case("transpose")
def _transpose(draw, name):
    shape = _shape(draw)
    perm = [axis - len(shape) if draw(st.booleans()) else axis for axis in draw(st.permutations(range(len(shape))))]
    return (_tensor(shape), perm), {}


@case("squeeze", "unsqueeze")
def _squeeze(draw, name):
    shape = [draw(st.sampled_from([1, 1, 2, 3])) for _ in range(draw(st.integers(1, 4)))]
    if name == "unsqueeze":
        return (_tensor(shape), draw(st.integers(-len(shape) - 1, len(shape)))), {}
    axis = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=2, unique=True)))
    return (_tensor(shape),), {"axis": axis}


@case("mean", "sum")
def _reduction(draw, name):
    shape = _shape(draw)
    axis = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True)))
    return (_tensor(shape),), {"axis": axis, "keepdim": draw(st.booleans())}


@case("zeros", "ones", "full")
def _creation(draw, name):
    shape = _shape(draw)
    return ((shape, 0.5) if name == "full" else (shape,)), {}


@case("zeros_like", "ones_like", "full_like")
def _creation_like(draw, name):
    x = _tensor(_shape(draw))
    return ((x, 2.0) if name == "full_like" else (x,)), {}


@case("relu", "relu6", "sigmoid", "tanh", "silu", "swish", "hardswish")
def _activation(draw, name):
    return (_tensor(_shape(draw)),), {}


@case("hardsigmoid", "gelu", "leaky_relu", "elu")
def _activation_with_settings(draw, name):
    value = {"hardsigmoid": {"slope": draw(st.sampled_from([0.2, 0.1666667])), "offset": 0.5},
             "gelu": {"approximate": draw(st.booleans())}, "leaky_relu": {"negative_slope": 0.1},
             "elu": {"alpha": 0.5}}[name]
    return (_tensor(_shape(draw)),), value if draw(st.booleans()) else {}


@case("softmax", "log_softmax")
def _softmax(draw, name):
    shape = _shape(draw)
    return (_tensor(shape),), {"axis": _axis(draw, len(shape))}


def _padding(draw):
    return draw(st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2), min_size=2, max_size=2),
                          st.lists(st.integers(0, 2), min_size=4, max_size=4), st.sampled_from(["SAME", "VALID"])))


@case("max_pool2d", "avg_pool2d")
def _pool(draw, name):
    kernel = draw(st.one_of(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=2, max_size=2)))
    kwargs = {"stride": draw(st.one_of(st.none(), st.integers(1, 3))), "padding": _padding(draw),
              "ceil_mode": draw(st.booleans())}
    if isinstance(kwargs["padding"], int) or len(kwargs["padding"]) == 2:  # Paddle: padding at most half a window
        kwargs["padding"] = kwargs["padding"] if isinstance(kwargs["padding"], int) else list(kwargs["padding"])
    if name == "avg_pool2d":
        kwargs["exclusive"] = draw(st.booleans())
    return (_image(draw), kernel), kwargs


@case("adaptive_avg_pool2d", "adaptive_max_pool2d")
def _adaptive(draw, name):
    size = draw(st.one_of(st.integers(1, 4), st.lists(st.one_of(st.none(), st.integers(1, 4)), min_size=2,
                                                           max_size=2)))
    return (_image(draw), size), {}


@case("pad")
def _pad(draw, name):
    x = _image(draw)
    pad = draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))
    if draw(st.booleans()):
        pad = draw(st.lists(st.integers(0, 2), min_size=8, max_size=8))
    return (x, pad), {"value": draw(st.sampled_from([0.0, 1.5]))}


@case("dropout", "dropout2d")
def _dropout(draw, name):
    x = _image(draw) if name == "dropout2d" else _tensor(_shape(draw))
    return (x,), {"p": draw(st.sampled_from([0.0, 0.5])), "training": draw(st.booleans())}


@case("interpolate")
def _interpolate(draw, name):
    if draw(st.booleans()):
        return (_image(draw),), {"size": draw(st.one_of(st.integers(1, 8), st.lists(st.integers(1, 8), min_size=2,
                                                                                      max_size=2)))}
    return (_image(draw),), {"scale_factor": draw(st.sampled_from([2, 0.5, 1.5, [2, 3]]))}


@case("__getitem__")
def _getitem(draw, name):
    shape = _shape(draw)
    index = []
    for size in shape[:draw(st.integers(1, len(shape)))]:
        index.append(draw(st.one_of(st.integers(-size, size - 1), st.builds(
            slice, st.one_of(st.none(), st.integers(-3, 3)), st.one_of(st.none(), st.integers(-3, 4)),
            st.one_of(st.none(), st.integers(1, 3))), st.none())))
    if draw(st.booleans()):
        index.insert(draw(st.integers(0, len(index))), Ellipsis)
    return (_tensor(shape), tuple(index) if len(index) != 1 or draw(st.booleans()) else index[0]), {}


# -------------------------------------------------------------------------------------------------- the check


def _callables():
    """Every (op, name, Paddle callable) the tracer replaces: each function an op stands for, each operator."""
    found = [(op, dotted, _resolve(dotted)) for op in OPS for dotted in op.functions]
    found += [(op, name, getattr(paddle.Tensor, name)) for name, op in OPERATORS.items()]
    return [(op, name, function) for op, name, function in found if function is not None]


def _case_name(op, name):
    return name if name.startswith("__") else op.name


def _compare(rule, run, describe) -> str:
    """``"compared"``, ``"both fail"`` or ``"declined"``; an assertion error if the rule and the kernel disagree."""
    try:
        expected, kernel_error = run(), None
    except Exception as error:  # noqa: BLE001  Paddle's kernels raise ValueError, RuntimeError, TypeError ...
        expected, kernel_error = None, error
    outputs = expected if isinstance(expected, (list, tuple)) else [expected]
    # A convolution or pool whose window is larger than its input returns an empty tensor (and MKL prints an
    # error): the model computes nothing there, which a rule may report as a shape mismatch.
    empty = kernel_error is None and any(0 in list(t.shape) for t in outputs)
    try:
        shape = rule()
    except UnsupportedLayer:
        return "declined"
    except TraceError as error:
        assert kernel_error is not None or empty, f"{describe()}: the rule says {error!r}, Paddle's kernel runs"
        return "both fail"
    assert kernel_error is None, f"{describe()}: the rule gives {shape}, Paddle's kernel fails: {kernel_error!r}"
    actual = [list(t.shape) for t in expected] if isinstance(expected, (list, tuple)) else list(expected.shape)
    assert shape == actual, f"{describe()}: the rule gives {shape}, Paddle's kernel {actual}"
    return "compared"


def _run_examples(check):
    outcomes = []

    @EXAMPLES
    @given(st.data())
    def examples(data):
        outcomes.append(check(data.draw))

    examples()
    return outcomes


@pytest.mark.parametrize("op, name, function", _callables(), ids=[name for _, name, _ in _callables()])
def test_operation_rule_equals_paddles_kernel(op, name, function):
    generate = OP_CASES[_case_name(op, name)]

    def check(draw):
        args, kwargs = generate(draw, _case_name(op, name))
        rule_args = [list(a) if isinstance(a, list) else a for a in args]  # the kernel may not change them

        def rule():
            applied = op.rule(*rule_args, **kwargs)
            tensors = [v for v in applied.inputs if isinstance(v, paddle.Tensor)]
            given_tensors = [v for v in (args[0] if isinstance(args[0], list) else args) if
                             isinstance(v, paddle.Tensor)]
            assert [id(t) for t in tensors] == [id(t) for t in given_tensors] or name.startswith("__r"), \
                f"{name}: the rule's inputs are not the tensors of the call"
            return applied.shape
        return _compare(rule, lambda: function(*args, **kwargs),
                        lambda: f"{name}(shapes {[list(a.shape) if hasattr(a, 'shape') else a for a in args]}, "
                                f"{kwargs})")

    outcomes = _run_examples(check)
    assert "compared" in outcomes, f"{name}: no generated call was compared ({set(outcomes)})"


# ---------------------------------------------------------------------------------------------------- layers

LAYER_CASES = {}


def layer_case(*classes):
    def register(function):
        for cls in classes:
            LAYER_CASES[cls] = function
        return function
    return register


@layer_case(nn.Conv2D)
def _conv(draw, cls):
    groups = draw(st.sampled_from([1, 1, 2]))
    padding_mode = draw(st.sampled_from(["zeros", "zeros", "reflect"]))
    padding = draw(st.integers(0, 2)) if padding_mode != "zeros" else _padding(draw)
    layer = cls(2 * groups, 2 * draw(st.integers(1, 2)), draw(st.integers(1, 3)), stride=draw(st.integers(1, 3)),
                padding=padding, dilation=draw(st.integers(1, 2)), groups=groups, padding_mode=padding_mode)
    x = _image(draw)
    if draw(st.integers(0, 3)):
        x = _tensor([1, 2 * groups, *x.shape[2:]])
    return layer, x


@layer_case(nn.MaxPool2D, nn.AvgPool2D)
def _pool_layer(draw, cls):
    (x, kernel), kwargs = _pool(draw, "max_pool2d" if cls is nn.MaxPool2D else "avg_pool2d")
    return cls(kernel, **kwargs), x


@layer_case(nn.AdaptiveAvgPool2D, nn.AdaptiveMaxPool2D)
def _adaptive_layer(draw, cls):
    (x, size), _ = _adaptive(draw, "")
    return cls(size), x


@layer_case(nn.BatchNorm2D, nn.BatchNorm)
def _norm(draw, cls):
    x = _image(draw)
    channels = int(x.shape[1]) if draw(st.integers(0, 3)) else int(x.shape[1]) + 1
    return cls(channels, epsilon=draw(st.sampled_from([1e-5, 1e-3])), momentum=0.9), x


@layer_case(nn.Linear)
def _linear(draw, cls):
    shape = _shape(draw)
    return cls(draw(st.sampled_from([shape[-1], shape[-1] + 1])), draw(st.integers(1, 4))), _tensor(shape)


@layer_case(nn.Flatten)
def _flatten_layer(draw, cls):
    (x,), kwargs = _flatten(draw, "")
    return cls(**kwargs), x


@layer_case(nn.LeakyReLU, nn.GELU, nn.Softmax, nn.Dropout, nn.Dropout2D, nn.Identity, nn.Hardsigmoid, nn.ReLU,
            nn.ReLU6, nn.Sigmoid, nn.Silu, nn.Swish, nn.Hardswish, nn.Tanh)
def _elementwise_layer(draw, cls):
    x = _image(draw) if cls is nn.Dropout2D else _tensor(_shape(draw))
    options = {nn.LeakyReLU: {"negative_slope": 0.2}, nn.GELU: {"approximate": draw(st.booleans())},
               nn.Softmax: {"axis": _axis(draw, len(x.shape))}, nn.Dropout: {"p": 0.5}}.get(cls, {})
    return cls(**options), x


@pytest.mark.parametrize("cls", list(LAYER_RULES), ids=[cls.__name__ for cls in LAYER_RULES])
def test_layer_rule_equals_paddles_kernel(cls):
    rule = LAYER_RULES[cls]

    def check(draw):
        layer, x = LAYER_CASES[cls](draw, cls)
        layer.eval()
        shape = [int(d) for d in x.shape]

        def by_rule():
            return rule.shape(layer, shape, rule.settings(layer, shape))
        return _compare(by_rule, lambda: layer(x), lambda: f"{layer} on {shape}")

    outcomes = _run_examples(check)
    assert "compared" in outcomes, f"{cls.__name__}: no generated call was compared ({set(outcomes)})"


def test_every_rule_has_a_kernel_test():
    """A rule added without a generator here fails: every rule is checked against Paddle's kernel."""
    assert {_case_name(op, name) for op, name, _ in _callables()} <= set(OP_CASES)
    assert {op.name for op in OPS} | set(OPERATORS) == set(OP_CASES)
    assert set(LAYER_RULES) == set(LAYER_CASES)
    assert all(op.rule is not None for op in OPS)
