"""Record what a model computes on one input: every layer call, and every operation between layers.

``trace(model, input_size)`` runs the model's own ``forward`` code and returns one ``LayerCall`` per layer call,
children before their parent (as ``paddle.summary`` lists them). ``trace_graph`` returns, with those calls, the
*rows* of the computation in forward order: every layer and every functional operation (``x + identity``,
``paddle.concat``, ``F.relu``, slicing ...; see ``ops.py``), each with the rows it takes its inputs from. Two
ways to run it:

- ``symbolic`` (the default): nothing is executed. The input is a ``ShapeOnly`` stand-in; Paddle's leaf layers
  (convolutions, norms, pools, ...) are replaced by shape rules that compute each output shape from the layer's
  settings (``shape_rules.py``), and the functions in ``ops.OPS`` by rules of their own. Tracing ResNet-152 at
  224x224 takes milliseconds and works on a model built under ``paddle.LazyGuard`` (no weights).
- ``eager``: everything runs for real on a random input, with the same functions intercepted to record them.
  Slower; the fallback when a model calls something the symbolic trace has no rule for, and what the tests use
  to check the rules against Paddle's kernels.

How the rows are named, so that two ways of writing the same model trace alike:

- a layer with parameters or buffers (a convolution, a BatchNorm) and every layer that has sublayers or is
  not one of Paddle's (a block) is named by its sublayer path: ``layer2.0.conv1``;
- an operation (a function call, an operator, or a parameter-free Paddle layer such as ``nn.ReLU``, which is
  the same computation as ``F.relu``) is named by the layer whose ``forward`` performed it and its name:
  ``layer2.0:add``; ``:flatten`` for the model's own ``forward``;
- a name used again gets ``#2``, ``#3`` ...: ``layer2.0:relu#3`` is the block's third ReLU. They are numbered
  by data flow, not by the order the forward happened to call them in: a call that needs another's output comes
  after it, and calls independent of each other (branches) are ordered by what they consume
  (``block:relu`` of ``block.conv_a`` before ``block:relu#2`` of ``block.conv_b``), then by their settings. A
  refactor that computes independent branches in another order gives every row the same name; a concat given
  its operands in another order does not rename them (``_number_by_data_flow``).

Every call of a Paddle function from the model's code is a row: the functions of ``ops.OPS`` with their rules,
every other public function of Paddle (and math method of ``paddle.Tensor``) by name with its non-tensor
arguments (``ops.call_settings``) in the eager trace; the symbolic trace falls back to the eager one for those.

The tracer knows layers, not ResNet: it works on any ``paddle.nn.Layer``. While it runs it replaces Paddle's
functions where Paddle and the model's modules expose them (``from paddle import concat`` in a module of the
model, or in a helper module it imports, included), the operators and math methods of ``paddle.Tensor``, and each
layer's ``forward``; one object (``_Patches``) does all of it and puts everything back, whatever happens. One trace
runs at a time; another thread calling Paddle during a trace runs Paddle's own functions (the replacements
record only in the thread that traces).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import math
import sys
import threading
import types
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import paddle
from paddle import nn

from .._checks import normalize_input_size
from .._process import paused_gc  # noqa: F401  (also imported from here by verification/golden.py)
from .ops import OPERATORS, OPS, Applied, Op, SymbolicTensor, call_settings, is_tensor, unruled
from .shape_rules import TraceError, UnsupportedLayer, WindowTooLarge, has_own_rule, rule_for

MODES = ("auto", "symbolic", "eager")
INPUT = "input"  # the reference of the model's input in a row's inputs
_UNLISTED = (nn.Sequential, nn.LayerList, nn.LayerDict)  # pure containers: calls, but no rows of their own


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
    settings: Dict[str, object] = field(default_factory=dict)  # kernel/stride/padding/... of known layers
    is_container: bool = False  # has sublayers (a block, a Sequential, the model)


@dataclass
class Row:
    """One step of the computation: a layer call or an operation, in forward order.

    ``inputs`` names the rows whose outputs it consumes (``"input"`` for the model's input, ``"param:<path>"``
    for a parameter, ``"tensor"`` for any other tensor made outside the trace, numbers as themselves).
    ``op`` is what it computes independently of names (``conv2d``, ``batch_norm``, ``add``), ``""`` for a
    layer that only calls other rows (a block). ``sources`` are the inputs traced back through such layers to the
    operations that produced them, for comparing two models by computation. ``name`` is the layer's own path
    when a parameter-free layer is recorded as an operation (``layer1.0.relu1`` for ``layer1.0:relu``).
    """

    id: str
    type: str
    inputs: list
    shape: list
    params: int = 0
    settings: dict = field(default_factory=dict)
    op: str = ""
    sources: list = field(default_factory=list)
    name: str = ""

    def as_list(self) -> list:
        """``[id, type, inputs, output shape, params, settings]``: the row as the golden file keeps it."""
        return [self.id, self.type, list(self.inputs), self.shape, self.params, self.settings]

    @classmethod
    def from_list(cls, values) -> "Row":
        row_id, kind, inputs, shape, params, settings = values
        return cls(row_id, kind, list(inputs), shape, params, dict(settings), op=kind if ":" in row_id else "")


@dataclass
class Trace:
    """What ``trace_graph`` recorded: the layer calls, the rows of the computation, and the mode that ran."""

    calls: List[LayerCall]
    rows: List[Row]
    mode: str


class _NoAttribute(UnsupportedLayer, AttributeError):
    """An attribute a ``ShapeOnly`` does not have: ``hasattr`` says False, and the trace falls back to eager."""


class ShapeOnly(SymbolicTensor):
    """Stands in for a tensor in a symbolic trace: it has a shape (and the row that produced it), and supports
    what model code does to tensors through the rules of ``ops.py``: ``shape``, ``ndim``, ``dtype``, operators,
    slicing and the tensor methods of the operations there. Anything else raises ``UnsupportedLayer``."""

    dtype = paddle.float32
    stop_gradient = False

    def __init__(self, shape: Sequence[int], ref: str = INPUT, source: str = INPUT):
        self.shape = [int(d) for d in shape]
        self.ref, self.source = ref, source

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getattr__(self, name):
        if name.startswith("__") or name not in _METHODS:
            raise _NoAttribute(f"the symbolic trace has no rule for tensor attribute or method {name!r}")
        return functools.partial(_apply_symbolic, _METHODS[name], self)

    def __bool__(self):
        raise UnsupportedLayer("the symbolic trace cannot decide a condition on a tensor's values")

    def __repr__(self):
        return f"ShapeOnly({self.shape})"


def _apply_symbolic(op, *args, **kwargs):
    if _ACTIVE is None:
        raise UnsupportedLayer("a ShapeOnly stand-in was used outside a trace")
    return _ACTIVE.apply(op, None, args, kwargs)


def _operator(op):
    def method(self, *args, **kwargs):
        return _apply_symbolic(op, self, *args, **kwargs)
    return method


for _name, _op in OPERATORS.items():
    setattr(ShapeOnly, _name, _operator(_op))


# ------------------------------------------------------------------------------------ replacing Paddle's functions

_ACTIVE: Optional["_Recorder"] = None
_NAMESPACES = ("paddle", "paddle.tensor", "paddle.tensor.math", "paddle.tensor.manipulation", "paddle.tensor.creation",
               "paddle.tensor.stat", "paddle.tensor.linalg", "paddle.tensor.ops", "paddle.tensor.activation",
               "paddle.nn.functional", "paddle.nn.functional.activation", "paddle.nn.functional.pooling",
               "paddle.nn.functional.common")
_ORIGINALS: Dict[int, Tuple[object, Op]] = {}  # id(Paddle function) -> (function, op)
_PATCHES: List[Tuple[object, str, object, Op]] = []  # (where, attribute, original, op)
_SYMBOLIC_PATCHES: List[Tuple[object, str, object, Op]] = []  # what the symbolic trace replaces of those
_METHODS: Dict[str, Op] = {}  # paddle.Tensor method name -> op with a rule (what ShapeOnly offers)
_REPLACEMENTS: Dict[Tuple[int, int], Tuple[object, object]] = {}  # (id(original), id(op)) -> (replacement, original)
#: Operators of paddle.Tensor without a rule, recorded by name (``-x``, ``x ** 2``, ``x > 0``, ``x[i] = y``).
_UNRULED_OPERATORS = ("__neg__", "__pos__", "__abs__", "__invert__", "__pow__", "__rpow__", "__floordiv__",
                      "__rfloordiv__", "__mod__", "__rmod__", "__div__", "__rdiv__", "__rmatmul__", "__and__",
                      "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__lshift__", "__rshift__", "__eq__",
                      "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__setitem__")
#: Tensor methods outside Paddle's list of math methods that compute something from the tensor's values.
_UNRULED_METHODS = ("astype", "cast", "clone", "detach", "contiguous", "fill_", "zero_", "type_as")
_MODEL_MODULES: Dict[tuple, list] = {}  # (layer modules, len(sys.modules)) -> _model_modules
_OWN_PACKAGE = __name__.rpartition(".")[0]  # paddle_resnet.analysis: never patched
#: Packages whose modules are not the model's helpers (Python's own, Paddle, NumPy): not searched for bindings.
_FOREIGN = frozenset(getattr(sys, "stdlib_module_names", ())) | {"builtins", "paddle", "numpy"}


def _resolve(dotted: str):
    module, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attribute, None)


def _discover():
    """Find, once per process, every place Paddle exposes the functions of ``ops.OPS``, and every other public
    function of the namespaces (and math method of ``paddle.Tensor``), each an operation recorded by name."""
    if _PATCHES:
        return
    for op in OPS:
        for dotted in op.functions:
            function = _resolve(dotted)
            if function is not None:
                _ORIGINALS[id(function)] = (function, op)
    namespaces = [sys.modules.get(name) or importlib.import_module(name) for name in _NAMESPACES
                  if importlib.util.find_spec(name) is not None]
    for namespace in namespaces:
        for attribute, value in vars(namespace).items():
            if id(value) not in _ORIGINALS and not attribute.startswith("_") and _is_paddle_function(value):
                _ORIGINALS[id(value)] = (value, unruled(getattr(value, "__name__", attribute)))
    methods = vars(paddle.Tensor)
    # Paddle's own list of the functions it attaches to paddle.Tensor as methods (not in Paddle 2.6 everywhere).
    listed = set(getattr(paddle.tensor, "tensor_method_func", ())) | set(_UNRULED_METHODS)
    for attribute in sorted(listed | set(_UNRULED_OPERATORS)):
        value = methods.get(attribute)
        if value is not None and id(value) not in _ORIGINALS and callable(value):
            _ORIGINALS[id(value)] = (value, unruled(attribute.strip("_") if attribute in _UNRULED_OPERATORS
                                                    else attribute))
    _PATCHES.extend(_scan(namespaces + [paddle.Tensor]))
    _METHODS.update({attribute: op for where, attribute, _, op in _PATCHES
                     if where is paddle.Tensor and op.rule is not None})
    _PATCHES.extend((paddle.Tensor, name, methods[name], op) for name, op in OPERATORS.items() if name in methods)
    # A ShapeOnly never reaches a method of paddle.Tensor: the symbolic trace needs only those with rules there.
    _SYMBOLIC_PATCHES.extend(patch for patch in _PATCHES if patch[0] is not paddle.Tensor or patch[3].rule is not None)


def _is_paddle_function(value) -> bool:
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) and str(
        getattr(value, "__module__", None)).split(".")[0] == "paddle"


def _scan(places) -> List[Tuple[object, str, object, Op]]:
    found = []
    for place in places:
        for attribute, value in list(vars(place).items()):
            if id(value) in _ORIGINALS and _ORIGINALS[id(value)][0] is value:
                found.append((place, attribute, value, _ORIGINALS[id(value)][1]))
    return found


def _replacement(op: Op, original):
    """The recording stand-in for ``original``, made once per process (a trace puts thousands in place)."""
    key = (id(original), id(op))
    if key not in _REPLACEMENTS:
        _REPLACEMENTS[key] = (_recording(op, original), original)  # keeps original alive: its id stays its own
    return _REPLACEMENTS[key][0]


def _recording(op: Op, original):
    def patched(*args, **kwargs):
        recorder = _ACTIVE
        # Record only calls from the model's own code (not inside a Paddle layer or another operation), in the
        # thread that traces: another thread using Paddle meanwhile gets Paddle's function.
        if recorder is None or recorder.quiet or not recorder.stack or recorder.thread != threading.get_ident():
            return original(*args, **kwargs)
        return recorder.apply(op, original, args, kwargs)
    patched.__wrapped__ = original
    return patched


def _model_modules(layers) -> list:
    """The modules the model's code may have imported a function into by name (``from paddle import concat``),
    which replacing ``paddle.concat`` alone would miss: the modules that define its layer classes, the other
    loaded modules of their packages, and the modules those import from (``from .helpers import act``).

    Found once per set of layer modules and of loaded modules (a new import, a new module, looks again)."""
    names = frozenset(type(layer).__module__ for layer in layers)
    key = (names, len(sys.modules))
    if key not in _MODEL_MODULES:
        if len(_MODEL_MODULES) > 64:  # a long session importing as it goes: keep the memory bounded
            _MODEL_MODULES.clear()
        _MODEL_MODULES[key] = _find_model_modules(names)
    return _MODEL_MODULES[key]


def _find_model_modules(names) -> list:
    packages = {name.split(".")[0] for name in names} - {"paddle"}
    found = {name: module for name, module in list(sys.modules.items())
             if module is not None and (name in names or name.split(".")[0] in packages)}
    for module in list(found.values()):
        for value in list(vars(module).values()):
            if isinstance(value, types.ModuleType):
                helper = value
            elif isinstance(value, types.FunctionType):
                helper = sys.modules.get(value.__module__)
            else:
                continue
            if helper is not None and str(helper.__name__).split(".")[0] not in _FOREIGN:
                found.setdefault(helper.__name__, helper)
    return [module for name, module in sorted(found.items()) if name not in _NAMESPACES
            and not name.startswith(_OWN_PACKAGE) and (name in names or name.split(".")[0] not in _FOREIGN)]


# -------------------------------------------------------------------------------------------------- recording


def _flat(values) -> list:
    out = []
    for value in values:
        if isinstance(value, (list, tuple)):
            out.extend(_flat(value))
        elif isinstance(value, dict):
            out.extend(_flat(list(value.values())))
        elif value is not None:
            out.append(value)
    return out


def _shape_of(value):
    if isinstance(value, (list, tuple)):
        return [_shape_of(v) for v in value]
    if isinstance(value, dict):
        return {k: _shape_of(v) for k, v in value.items()}
    return [int(d) for d in value.shape] if hasattr(value, "shape") else []


def _jsonable(value):
    """Settings as JSON keeps them (lists, not tuples; plain numbers), so a row equals its golden copy."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _own_params(layer):
    total = trainable = 0
    for param in layer._parameters.values():
        if param is None:
            continue
        size = math.prod(param.shape)
        total += size
        if param.trainable and not param.stop_gradient:
            trainable += size
    return total, trainable


def _is_stateful(layer) -> bool:
    return any(p is not None for p in layer._parameters.values()) or any(
        b is not None for b in layer._buffers.values())


def _is_paddles(layer) -> bool:
    return type(layer).__module__.split(".")[0] == "paddle"


def _base(row_id: str) -> str:
    """A row's id without the ``#n`` of a name used again."""
    return row_id.split("#", 1)[0]


def _split_ref(ref: str) -> Tuple[str, str]:
    """``"block:split#2[1]"`` -> ``("block:split#2", "[1]")``: the row, and which of its outputs."""
    row_id, bracket, rest = ref.partition("[")
    return row_id, bracket + rest


#: How many levels of repeated rows a tie-break looks through (``relu`` of ``max_pool2d`` of ``conv_a``); beyond
#: that two calls count as alike and keep their call order.
_KEY_DEPTH = 4
_COMMUTATIVE = frozenset(op.name for op in OPS if op.commutative)


def _number_by_data_flow(rows: List[Row]) -> None:
    """Renumber, in place, the rows whose name is used more than once (``#2``, ``#3``) by data flow instead of
    call order (see the module docstring), and every reference to them in other rows' ``inputs`` and
    ``sources``.

    Within one name, the numbering is a topological order of the calls: a call whose output another one needs
    (directly or not) comes first, so a chain (a block's ReLUs) keeps its call order. Among calls independent of
    each other, the one whose inputs come first comes first: inputs are described by the names of the rows that
    made them (a repeated row by its own description, up to ``_KEY_DEPTH`` levels), then by the call's settings;
    calls alike in all of that keep their call order (``compare.py`` still pairs them by data flow). Nothing here
    depends on the order independent branches ran in, nor on the order a later row consumes them in (a swapped
    concat stays visible at the concat)."""
    groups: Dict[str, List[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(_base(row.id), []).append(index)
    repeated = {base: members for base, members in groups.items() if len(members) > 1}
    if not repeated:
        return
    position = {row.id: index for index, row in enumerate(rows)}
    bits = {index: 1 << number for number, index in enumerate(i for members in repeated.values() for i in members)}
    # the repeated rows each row depends on (through its inputs and, past a block, the operations behind them)
    ancestors = [0] * len(rows)
    for index, row in enumerate(rows):
        mask = 0
        for ref in set(row.inputs + row.sources) if row.sources != row.inputs else row.inputs:
            if isinstance(ref, str):
                producer = position.get(_split_ref(ref)[0] if "[" in ref else ref)
                if producer is not None and producer != index:
                    mask |= ancestors[producer] | bits.get(producer, 0)
        ancestors[index] = mask

    described: Dict[Tuple[int, int], str] = {}

    def describe(index: int, depth: int) -> str:
        """A row by what it consumes: its name if used once, else its name and its inputs' descriptions."""
        row = rows[index]
        base = _base(row.id)
        if base not in repeated:
            return base
        if depth == 0:
            return base + "(...)"
        if (index, depth) not in described:
            inputs = [describe_ref(ref, depth - 1) for ref in row.inputs]
            if row.op in _COMMUTATIVE:
                inputs.sort()
            settings = json.dumps(row.settings, sort_keys=True, default=str) if row.settings else ""
            described[index, depth] = f"{base}({', '.join(inputs)}){settings}"
        return described[index, depth]

    def describe_ref(ref, depth: int) -> str:
        if not isinstance(ref, str):
            return json.dumps(ref)
        row_id, output = _split_ref(ref)
        return describe(position[row_id], depth) + output if row_id in position else ref

    renamed: Dict[str, str] = {}
    for base, members in repeated.items():
        group = 0
        for index in members:
            group |= bits[index]
        remaining, done = list(members), 0
        while remaining:
            # the earliest remaining call's group ancestors all ran before it, so are numbered: never empty
            ready = [i for i in remaining if not ancestors[i] & group & ~done]
            chosen = ready[0] if len(ready) == 1 else min(ready, key=lambda i: describe(i, _KEY_DEPTH))
            number = len(members) - len(remaining) + 1
            new = base if number == 1 else f"{base}#{number}"
            if rows[chosen].id != new:
                renamed[rows[chosen].id] = new
            remaining.remove(chosen)
            done |= bits[chosen]
    if not renamed:
        return

    def rename(ref):
        if not isinstance(ref, str):
            return ref
        row_id, output = _split_ref(ref)
        return renamed.get(row_id, row_id) + output if row_id in renamed else ref

    for row in rows:
        row.id = renamed.get(row.id, row.id)
        if not any(isinstance(ref, str) and _split_ref(ref)[0] in renamed for ref in [*row.inputs, *row.sources]):
            continue
        if row.op in _COMMUTATIVE and len(row.inputs) == len(row.sources):
            # a + b is b + a: add_row keeps the operands sorted by name; sorted again under the new names
            pairs = sorted(((rename(r), rename(s)) for r, s in zip(row.inputs, row.sources)), key=lambda p: str(p[0]))
            row.inputs, row.sources = [r for r, _ in pairs], [s for _, s in pairs]
        else:
            row.inputs, row.sources = [rename(r) for r in row.inputs], [rename(s) for s in row.sources]


def _before_the_kernel(rule):
    """In the eager trace, a rule's result computed before Paddle's kernel runs, or ``None`` where the rule
    cannot say (the kernel may still run: an argument the rule does not know). A window that does not fit its
    input (``WindowTooLarge``) is raised: the kernel is never run on it."""
    try:
        return rule()
    except WindowTooLarge:
        raise
    except Exception:  # noqa: BLE001  the rule's limits are not the kernel's
        return None


class _Recorder:
    """The state of one trace: the calls and rows so far, the layers being run, and the names of the values."""

    def __init__(self, model, symbolic: bool):
        self.model, self.symbolic = model, symbolic
        self.calls: List[LayerCall] = []
        self.rows: List[Row] = []
        self.uses: Dict[str, int] = {}
        self.stack: List[str] = []  # paths of the layers whose forward is running
        self.quiet = 0  # > 0 inside a Paddle layer or an operation: what runs there is its implementation
        self.values: Dict[int, Tuple[object, str, str]] = {}  # eager: id(tensor) -> (tensor, ref, source)
        self.param_names: Optional[Dict[int, str]] = None
        self.thread = threading.get_ident()  # the replaced functions record calls from this thread only
        self.observe = None  # eager: called with every row and its real output (the value fingerprint's hook)

    # names of values
    def ref(self, value) -> Tuple[object, object]:
        if isinstance(value, ShapeOnly):
            return value.ref, value.source
        if isinstance(value, paddle.Tensor):
            if id(value) in self.values:
                return self.values[id(value)][1:]
            if self.param_names is None:
                self.param_names = {id(p): n for n, p in self.model.named_parameters()}
            ref = f"param:{self.param_names[id(value)]}" if id(value) in self.param_names else "tensor"
            return ref, ref
        return (_jsonable(value),) * 2

    def traced(self, value) -> bool:
        return isinstance(value, ShapeOnly) or (isinstance(value, paddle.Tensor) and id(value) in self.values)

    def label(self, output, ref: str, source: Optional[str]):
        """Name ``output`` (a value or a list of them) after the row ``ref`` that returned it; ``source`` is the
        operation that computed it (``None``: keep the one it has, for a layer that only passed it on)."""
        items = _flat([output])
        for i, value in enumerate(items):
            name = ref if len(items) == 1 else f"{ref}[{i}]"
            computed = source if source is None or len(items) == 1 else f"{source}[{i}]"  # which output it reads
            if isinstance(value, ShapeOnly):
                value.ref, value.source = name, computed or value.source
            elif isinstance(value, paddle.Tensor):
                old = self.values.get(id(value), (None, None, name))[2]
                self.values[id(value)] = (value, name, computed or old)

    def add_row(self, base_id, kind, inputs, output, params=0, settings=None, op="", commutative=False, name="",
                shape=None):
        """Make the row that produced ``output`` (in the eager trace, the real tensor or tensors): the one place
        rows are made. Paddle functions called in here (reading the output) are not recorded."""
        self.quiet += 1
        try:
            self.uses[base_id] = count = self.uses.get(base_id, 0) + 1
            row_id = base_id if count == 1 else f"{base_id}#{count}"
            pairs = [self.ref(v) for v in _flat(inputs)]
            if commutative:  # a + b is b + a: keep one order
                pairs.sort(key=lambda pair: str(pair[0]))
            row = Row(row_id, kind, [r for r, _ in pairs], _shape_of(output) if shape is None else shape, params,
                      settings or {}, op, [s for _, s in pairs], name)
            self.rows.append(row)
            self.label(output, row_id, row_id if op else None)
            if self.observe is not None and not self.symbolic:
                self.observe(row, output)
            return row
        finally:
            self.quiet -= 1

    @property
    def owner(self) -> str:
        return self.stack[-1]

    # operations
    def apply(self, op: Op, original, args, kwargs):
        if op.rule is None:
            return self.apply_unruled(op, original, args, kwargs)
        if not op.creates and not any(self.traced(v) for v in _flat([args, kwargs])):
            return original(*args, **kwargs)  # nothing traced flows in: a constant, not part of the model's data
        self.quiet += 1
        try:
            if self.symbolic:
                try:
                    applied = op.rule(*args, **kwargs)
                except TypeError as error:
                    raise UnsupportedLayer(f"no rule for {op.name} called with these arguments ({error})") from None
                output = [ShapeOnly(shape) for shape in applied.shape] if op.several else ShapeOnly(applied.shape)
            else:
                applied = _before_the_kernel(lambda: op.rule(*args, **kwargs))
                output = original(*args, **kwargs)
                if applied is None:  # it ran; record what it consumed, without settings
                    applied = Applied([v for v in _flat([args, kwargs]) if is_tensor(v)], {}, None)
        finally:
            self.quiet -= 1
        self.add_row(f"{self.owner}:{op.name}", op.name, applied.inputs, output, settings=_jsonable(applied.settings),
                     op=op.name, commutative=op.commutative)
        return output

    def apply_unruled(self, op: Op, original, args, kwargs):
        """A Paddle function without a rule, called from the model's code: in the eager trace it runs and is
        recorded by name (its non-tensor arguments as settings); the symbolic trace cannot compute its output
        and stops (``auto`` then traces eagerly). A call that makes no tensor (``paddle.is_tensor(x)``) is a
        question about a value, not an operation, and so is a call on tensors made outside the trace (weights)."""
        values = _flat([args, kwargs])
        traced = any(self.traced(v) for v in values)
        if self.symbolic and traced:
            raise UnsupportedLayer(f"the symbolic trace has no rule for {op.name}")
        self.quiet += 1
        try:
            result = original(*args, **kwargs)
        finally:
            self.quiet -= 1
        output = result
        if result is None and args and (op.name.endswith("_") or op.name == "setitem"):
            output = args[0]  # changed in place: later uses of the tensor read this row
        made = any(isinstance(v, paddle.Tensor) for v in _flat([output]))
        if not made or (not traced and any(is_tensor(v) for v in values)):
            return result
        if self.symbolic:
            raise UnsupportedLayer(f"the symbolic trace has no rule for {op.name}, which made a tensor")
        self.add_row(f"{self.owner}:{op.name}", op.name, [v for v in values if is_tensor(v)], output,
                     settings=_jsonable(call_settings(original, args, kwargs)), op=op.name)
        return result

    # layers
    def wrap(self, name: str, layer):
        """``layer``'s forward for this trace; what to do with the layer is decided once, here."""
        original, rule, own_rule = layer.forward, rule_for(layer), has_own_rule(layer)
        cls = type(layer).__name__
        if rule is not None and rule.op == "identity":
            kind = "identity"
        elif own_rule or (rule is not None and not layer._sub_layers):
            kind = "rule"
        elif layer._sub_layers or not _is_paddles(layer):
            kind = "traced"  # a block, a container, or a layer of the model's own code: follow its forward
        else:
            kind = "unknown"  # a Paddle layer without a rule: opaque, runs only eagerly
        op = (rule.op or cls) if rule is not None else cls
        params, trainable = _own_params(layer)  # its own parameters: fixed for the trace
        # How its row is named (see the module docstring): by path, as an operation of its caller, or not at all.
        if kind == "identity" or (kind == "traced" and isinstance(layer, _UNLISTED)) or not name:
            naming = None
        elif kind == "traced" or own_rule or _is_stateful(layer):
            naming = "path"
        else:  # a parameter-free Paddle layer is the same computation as its function: nn.ReLU as F.relu
            naming = "operation"

        def forward(*inputs, **kwargs):
            try:
                return run(*inputs, **kwargs)
            except TraceError as error:
                if error.where is not None:
                    raise
                located = type(error)(f"{name or cls}: {error}")
                located.where = name
                raise located from None

        def run(*inputs, **kwargs):
            shapes = [_shape_of(x) for x in inputs]
            macs, settings = 0, {}
            if kind == "traced":
                self.stack.append(name)
                try:
                    output = original(*inputs, **kwargs)
                finally:
                    self.stack.pop()
            elif kind == "identity":
                output = inputs[0] if self.symbolic else original(*inputs, **kwargs)
            elif kind == "unknown":
                if self.symbolic:
                    raise UnsupportedLayer(f"no shape rule for {cls} ({name})")
                output = self.run_quietly(original, inputs, kwargs)
                settings = {"config": layer.extra_repr()}  # what Paddle prints for it: its settings
            else:
                if len(inputs) != 1 or kwargs:
                    raise UnsupportedLayer(f"{cls} called with {len(inputs)} inputs: its rule takes one")
                settings = rule.settings(layer, shapes[0])
                if own_rule:
                    settings = _jsonable(settings)  # the layer's own rule may return tuples
                if self.symbolic:
                    output = ShapeOnly(rule.shape(layer, shapes[0], settings))
                else:
                    _before_the_kernel(lambda: rule.shape(layer, shapes[0], settings))
                    output = self.run_quietly(original, inputs, kwargs)
                macs = rule.macs(layer, shapes[0], output.shape)
            shape = _shape_of(output)
            self.calls.append(LayerCall(name, cls, shapes, shape, params, trainable, macs, settings,
                                        bool(layer._sub_layers)))
            if naming == "path":
                self.add_row(name, cls, inputs, output, params, settings, "" if kind == "traced" else op, shape=shape)
            elif naming == "operation":
                self.add_row(f"{self.owner}:{op}", op, inputs, output, params, settings, op, name=name, shape=shape)
            return output

        return forward

    def run_quietly(self, original, inputs, kwargs):
        """Run a Paddle layer: the functions it calls inside are its implementation, not rows of their own."""
        self.quiet += 1
        try:
            return original(*inputs, **kwargs)
        finally:
            self.quiet -= 1


# ------------------------------------------------------------------------------------------------------ entry


def trace(model: nn.Layer, input_size, mode: str = "auto") -> List[LayerCall]:
    """Run ``model`` on an input of ``input_size`` and return one ``LayerCall`` per layer call.

    Args:
        model: any ``paddle.nn.Layer``; left exactly as it was (mode, weights, attributes).
        input_size: ``(batch, channels, height, width)`` as ``paddle.summary`` takes it, or
            ``(channels, height, width)``.
        mode: ``"symbolic"`` (no kernels run), ``"eager"`` (everything runs on random input, in eval mode,
            without gradients) or ``"auto"``: symbolic, falling back to eager for unsupported layers.

    Raises:
        TraceError: the model cannot run on this input (a shape mismatch); the message says where, and its
            ``partial`` attribute holds the ``Trace`` of what ran before the failure.

    >>> from paddle_resnet import resnet18
    >>> calls = trace(resnet18(), (1, 3, 224, 224))
    >>> calls[0].type, calls[0].output_shape, calls[0].macs
    ('Conv2D', [1, 64, 112, 112], 118013952)
    """
    return trace_graph(model, input_size, mode).calls


def trace_graph(model: nn.Layer, input_size, mode: str = "auto", observe=None, example=None) -> Trace:
    """Like ``trace``, and also the rows of the computation: every layer and every operation between layers, in
    forward order, each with the rows its inputs come from (see the module docstring for how rows are named).

    ``observe(row, output)``, if given, is called once per row with the row and its real output (a tensor or a
    list of them) in an eager trace; an eager trace with an observer runs the model in its own mode (train or
    eval: the caller sets it) and on ``example`` (a tensor of ``input_size``) instead of a random input.

    >>> from paddle_resnet import resnet18
    >>> rows = trace_graph(resnet18(), (1, 3, 224, 224)).rows
    >>> for row in rows[6:11]:
    ...     print(row.id, row.type, row.inputs)
    layer1.0:relu relu ['layer1.0.bn1']
    layer1.0.conv2 Conv2D ['layer1.0:relu']
    layer1.0.bn2 BatchNorm2D ['layer1.0.conv2']
    layer1.0:add add [':max_pool2d', 'layer1.0.bn2']
    layer1.0:relu#2 relu ['layer1.0:add']
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {', '.join(MODES)}")
    size = normalize_input_size(input_size)
    if observe is not None or example is not None:
        if mode != "eager":
            raise ValueError("observe and example need mode='eager': only an eager trace has values")
        with paused_gc():
            return _run(model, size, symbolic=False, observe=observe, example=example)
    if mode != "auto":
        with paused_gc():
            return _run(model, size, symbolic=mode == "symbolic")
    try:
        with paused_gc():
            return _run(model, size, symbolic=True)
    except UnsupportedLayer as error:
        lazy = [name for name, param in model.named_parameters()
                if hasattr(param, "_is_initialized") and not param._is_initialized()]
        if lazy:
            raise UnsupportedLayer(
                f"{error}; the symbolic trace needs a rule for it, and the model cannot run eagerly instead because "
                f"it was built under paddle.LazyGuard (parameter {lazy[0]} has no value): build it without "
                "LazyGuard") from None
        with paused_gc():
            return _run(model, size, symbolic=False)


class _Patches:
    """Everything a trace replaces, in one place: entered, it puts the recorder's wrapper in each layer's
    ``forward`` and the recording replacements in place of Paddle's functions and ``paddle.Tensor``'s operators
    and methods, and makes ``recorder`` the active trace; left (normally, on an error, or half-way through
    entering), it puts every original back and restores each layer's mode."""

    _lock = threading.Lock()  # one trace at a time, in any thread

    def __init__(self, recorder: "_Recorder", layers, groups):
        """``groups``: ``_grouped`` lists of what to replace where."""
        self.recorder, self.layers, self.groups = recorder, layers, groups
        self.forwards: list = []  # (layer, its own instance-level forward or None, its mode), as replaced
        self.replaced: list = []  # (where, {attribute: original}), as replaced

    def __enter__(self) -> "_Recorder":
        global _ACTIVE
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("one trace at a time: trace_graph was called while another trace was running")
        try:
            # The wrappers go into each layer's own __dict__ (what Paddle's slower __setattr__ would do for a
            # function). A layer may already carry an instance-level forward (patched code): keep it to put it
            # back; and keep each layer's mode, since a frozen part may be in eval mode in a training model.
            for name, layer in self.layers:
                self.forwards.append((layer, layer.__dict__.get("forward"), layer.training))
                layer.__dict__["forward"] = self.recorder.wrap(name, layer)
            for group in self.groups:
                for where, replacements, originals in group:
                    self.replaced.append((where, originals))
                    _assign(where, replacements)
            _ACTIVE = self.recorder
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.recorder

    def __exit__(self, *exc_info) -> None:
        global _ACTIVE
        _ACTIVE = None
        try:
            for where, originals in reversed(self.replaced):
                _assign(where, originals)
            for layer, own, training in self.forwards:
                if own is None:
                    layer.__dict__.pop("forward", None)
                else:
                    layer.__dict__["forward"] = own
                layer.__dict__["training"] = training
        finally:
            self.replaced, self.forwards = [], []
            self._lock.release()


def _grouped(patches) -> List[Tuple[object, Dict[str, object], Dict[str, object]]]:
    """``(where, attribute, original, op)`` patches as ``(where, {attribute: replacement}, {attribute: original})``
    per place: a module's namespace takes them in one ``dict.update`` (a trace replaces thousands)."""
    groups: Dict[int, Tuple[object, Dict[str, object], Dict[str, object]]] = {}
    for where, attribute, original, op in patches:
        _, replacements, originals = groups.setdefault(id(where), (where, {}, {}))
        replacements[attribute], originals[attribute] = _replacement(op, original), original
    return list(groups.values())


def _assign(where, values: Dict[str, object]) -> None:
    if isinstance(where, types.ModuleType):
        vars(where).update(values)
    else:  # a class: its namespace is read-only, and setattr keeps its method cache right
        for attribute, value in values.items():
            setattr(where, attribute, value)


_GROUPED: Dict[bool, list] = {}  # symbolic? -> _grouped(the patches of every trace in that mode), made once


def _run(model, size, symbolic: bool, observe=None, example=None) -> Trace:
    _discover()
    recorder = _Recorder(model, symbolic)
    recorder.observe = observe
    layers = list(model.named_sublayers(include_self=True))
    if symbolic not in _GROUPED:
        _GROUPED[symbolic] = _grouped(_SYMBOLIC_PATCHES if symbolic else _PATCHES)
    groups = [_GROUPED[symbolic], _grouped(_scan(_model_modules(layer for _, layer in layers)))]
    with _Patches(recorder, layers, groups):
        try:
            if symbolic:
                model(ShapeOnly(size))
            else:
                if observe is None:
                    model.eval()
                with paddle.no_grad():
                    image = paddle.rand(size) if example is None else example
                    recorder.label(image, INPUT, INPUT)
                    model(image)
        except TraceError as error:
            _number_by_data_flow(recorder.rows)
            error.partial = Trace(recorder.calls, recorder.rows, "symbolic" if symbolic else "eager")  # what ran
            error.rows = recorder.rows  # the rows up to where it stopped: a check names the first that differs
            raise
        except (ValueError, TypeError, AttributeError, RuntimeError, IndexError) as error:
            where = f"after layer {recorder.calls[-1].name!r}" if recorder.calls else "before any layer ran"
            if symbolic:  # only the model's own Python ran: it did something to a tensor we have no rule for
                raise UnsupportedLayer(f"symbolic trace stopped {where}: {error}") from error
            _number_by_data_flow(recorder.rows)
            failure = TraceError(f"the model does not run on input {size} ({where}): {error}")
            failure.partial = Trace(recorder.calls, recorder.rows, "eager")  # the rows up to the failure
            failure.rows = recorder.rows
            raise failure from error
    _number_by_data_flow(recorder.rows)
    return Trace(recorder.calls, recorder.rows, "symbolic" if symbolic else "eager")
