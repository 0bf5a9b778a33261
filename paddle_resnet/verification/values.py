"""The value fingerprint: what a model *computes*, next to its structure, as a small digest of every row's output.

The structure (``fingerprint.py``) catches what the trace sees: a layer's settings, an operation's arguments, the
order of the rows. What it cannot see (an operation without a rule, the order of ``paddle.split``'s outputs, a
function bound by name in a helper module, a layer whose overridden ``forward`` is not traced into) still changes
the numbers. So a value pass runs the model once, eagerly, under conditions every machine reproduces:

- every parameter and buffer is *replaced for the pass* (the user's tensors are never touched: the pass puts
  other tensors in their places and puts the originals back afterwards) by a window of a seeded sequence of
  uniform numbers (NumPy's PCG64), one sequence per kind of tensor (weights of one fan-in, scaled like a He
  initialisation; norm scales; other vectors), at an offset seeded by a hash of the tensor's name
  (``layer1.0.conv1.weight``): see ``seeded_value``. They do not depend on ``paddle.seed``, the machine, or the
  Paddle version, and a model built under ``paddle.LazyGuard`` (no weights at all) gets the same values as a
  normally built one;
- the input is drawn the same way (seeded by ``"input"``);
- the forward runs in float64 where the kernels allow it (float32 otherwise, and the golden file says which);
- the model runs in the mode the golden entry records (``eval`` or ``train``: BatchNorm on batch statistics),
  and is put back in its own mode afterwards.

Each row's output becomes ``DIGEST_SIZE`` numbers per tensor: its mean, its root mean square, and three fixed
random projections (weighted sums whose weights differ by position along every axis: a permutation of channels,
of rows or of ``split``'s outputs changes them). Two digests agree when every number differs by at most
``RTOL[dtype]`` times the row's scale (its root mean square): rounding differences between CPUs, thread counts
and Paddle versions are far below that; a changed computation is far above it.

Random rows (dropout that is active, i.e. its output is not its input) cannot be compared by value: they and every
row computed from them are compared by structure only (their settings, such as ``p``), and the report says how
many rows that is.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..analysis.trace import INPUT, Row, TraceError, trace_graph
from .._quiet import batchnorm_note_silenced

#: Numbers per tensor in a row's digest: mean, root mean square, three projections.
DIGEST_SIZE = 5
#: How far two digests may differ, relative to the row's scale (its root mean square). Float64 rounding across
#: CPUs, thread counts and Paddle versions stays below 1e-12 of the scale in the rows of the architectures here;
#: float32 below 1e-5.
RTOL = {"float64": 1e-7, "float32": 1e-3}
#: Operations whose output is random when they are active.
RANDOM_OPS = ("dropout", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")
#: Significant digits a digest keeps in the golden file (far more than ``RTOL`` needs).
DIGITS = 10
MODES = ("eval", "train")


def _seed(text: str) -> np.random.Generator:
    """A generator seeded by ``text`` alone: the same numbers on every machine, Python and Paddle version."""
    digest = hashlib.sha256(text.encode()).digest()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int.from_bytes(digest[:16], "little"))))


#: Every tensor of a value pass is a window of a seeded sequence of its kind (weights of one fan-in, norm scales,
#: ...), starting at an offset below ``SPREAD`` seeded by its name. A window of a parameter is a view, not a copy:
#: the value pass of a 60-million parameter model draws a few sequences instead of writing every weight. The
#: offsets make two tensors of one kind different (their windows shifted), unless their names seed the same
#: offset (one chance in 65,537 per pair: then they are equal, which only hides their being swapped).
SPREAD = 65537


def seeded_value(name: str, shape, dtype: str = "float64") -> np.ndarray:
    """The value a parameter or buffer called ``name`` gets in a value pass: the window at an offset seeded by
    the name of a seeded sequence of uniform numbers, scaled by kind so that activations stay of a moderate size
    through the depth (``_kind``): a weight of two or more dimensions by He's bound for its fan-in; norm scales
    and variances (which must be positive) around 1; other tensors around 0; integer buffers small non-negative
    integers.

    >>> seeded_value("fc.bias", [3]).round(6).tolist()
    [-0.166112, 0.071807, 0.343621]
    >>> seeded_value("conv.weight", [4, 2, 1, 1]).shape
    (4, 2, 1, 1)
    """
    shape = [int(d) for d in shape]
    return _windows(_sequence_dtype(dtype)).window(name, shape, _kind(name, shape, dtype)).astype(dtype)


def _sequence_dtype(dtype: str) -> str:
    """The precision of the sequences a tensor of ``dtype`` is a window of (integers are drawn as floats)."""
    return dtype if np.dtype(dtype).kind == "f" else "float64"


def _kind(name: str, shape: List[int], dtype: str) -> Tuple[str, int]:
    """Which sequence a tensor is a window of: ``("weight", fan-in)``, ``("positive", 0)`` for norm scales and
    variances, ``("integer", 0)``, else ``("centred", 0)``."""
    if np.dtype(dtype).kind != "f":
        return "integer", 0
    if len(shape) >= 2:
        return "weight", math.prod(shape[1:]) if len(shape) > 2 else shape[0]  # conv [out, in, ...]; Linear [in, out]
    leaf = name.rsplit(".", 1)[-1].lower()
    if "var" in leaf or leaf in ("weight", "scale", "gamma", "alpha"):
        return "positive", 0
    return "centred", 0


@functools.lru_cache(maxsize=1 << 16)
def _offset(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"offset {name}".encode()).digest()[:8], "little") % SPREAD


class _Windows:
    """The seeded sequences tensors are windows of, one per kind, each drawn from its own seeded generator (as
    long as the longest window ``reserve``d on it, or asked for) and kept while this object lives. A sequence
    that must grow only draws its new numbers: a window's values never depend on which other tensors, or which
    other models (``seeded_weights_kept``), share its sequence."""

    def __init__(self, dtype: str):
        self.dtype = dtype
        self.lengths: Dict[Tuple[str, int], int] = {}
        self.sequences: Dict[Tuple[str, int], np.ndarray] = {}
        self.generators: Dict[Tuple[str, int], np.random.Generator] = {}

    def reserve(self, name: str, shape: List[int], kind: Tuple[str, int]) -> None:
        self.lengths[kind] = max(self.lengths.get(kind, 0), _offset(name) + math.prod(shape))

    def window(self, name: str, shape: List[int], kind: Tuple[str, int]) -> np.ndarray:
        self.reserve(name, shape, kind)
        if len(self.sequences.get(kind, ())) < self.lengths[kind]:
            self._draw()
        start = _offset(name)
        return self.sequences[kind][start:start + math.prod(shape)].reshape(shape)

    def _draw(self) -> None:
        """Lengthen every sequence shorter than its reserved length."""
        for kind, length in self.lengths.items():
            old = self.sequences.get(kind, np.empty(0, self.dtype))
            if len(old) >= length:
                continue
            generator = self.generators.setdefault(kind, _seed(f"values {kind[0]} {kind[1]}"))
            sequence = np.empty(length, self.dtype)
            sequence[:len(old)] = old
            new = sequence[len(old):]
            # drawn and scaled in float64 (in place when the sequence is float64: no second array of its size),
            # so that a float32 sequence holds the float64 numbers rounded
            numbers = new if self.dtype == "float64" else np.empty(len(new))
            generator.random(out=numbers)
            if kind[0] == "weight":  # uniform in [-bound, bound), He's initialisation
                bound = math.sqrt(6.0 / max(kind[1], 1))
                numbers *= 2 * bound
                numbers -= bound
            elif kind[0] == "integer":
                np.floor(numbers * 4, out=numbers)
            else:
                numbers += 0.5 if kind[0] == "positive" else -0.5
            if numbers is not new:
                new[:] = numbers
            self.sequences[kind] = sequence


#: The sequences kept by ``seeded_weights_kept``, by dtype, while it is active.
_KEPT: Dict[str, _Windows] = {}
_KEEPING = [0]


@contextlib.contextmanager
def seeded_weights_kept():
    """Value passes in the block share their seeded sequences (``_Windows``) instead of drawing their own:
    checking a family of models (``verify`` over every architecture) draws each sequence once. They hold as much
    memory as the largest weights of each fan-in (about 180 MB for the 13 ResNets with values) until the block
    ends; the values are the same either way.

    >>> with seeded_weights_kept():
    ...     a = seeded_value("conv.weight", [4, 2, 3, 3])
    >>> bool((a == seeded_value("conv.weight", [4, 2, 3, 3])).all())
    True
    """
    _KEEPING[0] += 1
    try:
        yield
    finally:
        _KEEPING[0] -= 1
        if not _KEEPING[0]:
            _KEPT.clear()


def _windows(dtype: str) -> "_Windows":
    """The sequences a value pass takes its tensors from: its own, or the kept ones."""
    if not _KEEPING[0]:
        return _Windows(dtype)
    return _KEPT.setdefault(dtype, _Windows(dtype))


def _shared(array: np.ndarray):
    """A Paddle tensor on ``array``'s memory (Paddle 3; Paddle 2.6 copies it), which it keeps alive."""
    from paddle.utils.dlpack import from_dlpack

    return from_dlpack(array.__dlpack__())


def value_input(size, dtype: str = "float64") -> np.ndarray:
    """The input of a value pass: seeded by ``"input"`` and the size, uniform in [-3, 3)."""
    size = [int(d) for d in size]
    return ((_seed(f"input {size}").random(math.prod(size)) * 6 - 3).reshape(size)).astype(dtype)


_PROJECTIONS: Dict[Tuple[int, int], np.ndarray] = {}


def _projection(axis: int, length: int) -> np.ndarray:
    """The three projections' weights along one axis of a given length, as a ``[length, 3]`` array."""
    key = (axis, length)
    if key not in _PROJECTIONS:
        _PROJECTIONS[key] = np.stack([_seed(f"projection {k} axis {axis} length {length}").standard_normal(length)
                                      for k in range(3)], axis=1)
    return _PROJECTIONS[key]


def digest(array: np.ndarray) -> List[float]:
    """``DIGEST_SIZE`` numbers describing ``array``: mean, root mean square, and three projections on weights that
    are a product of seeded random vectors, one per axis (divided by the square root of the size, so that all five
    are of the array's scale).

    >>> digest(np.arange(6.0).reshape(2, 3))[:2]
    [2.5, 3.027650354]
    """
    x = np.asarray(array, dtype=np.float64)
    if x.size == 0:
        return [0.0] * DIGEST_SIZE
    flat = x.reshape(-1)
    if x.ndim and flat.size <= _COMBINED_LIMIT:
        # the usual row at the value size: one product gives the sum and the three projections
        total, *projected = flat @ _combined_weights(x.shape)
    else:
        total = flat.sum()
        projected = _projected(x) if x.ndim else np.full(3, float(x))
    # np.square().sum(), not the BLAS dot flat @ flat: starting its threads costs more than the sum
    numbers = [float(total) / flat.size, math.sqrt(float(np.square(flat).sum()) / flat.size)]
    numbers += [float(value) / math.sqrt(flat.size) for value in projected]
    return [float(f"{number:.{DIGITS}g}") for number in numbers]


def _projected(x: np.ndarray) -> np.ndarray:
    """The three projections of ``x`` (at least one axis), one axis at a time: the last axis first, the largest
    step, as one 2-D product (NumPy's batched product of many tiny matrices is a hundred times slower)."""
    projected = (x.reshape(-1, x.shape[-1]) @ _projection(x.ndim - 1, x.shape[-1])).reshape(*x.shape[:-1], 3)
    for axis in range(x.ndim - 2, -1, -1):
        projected = (projected * _projection(axis, x.shape[axis])).sum(axis=-2)
    return projected.reshape(3)


#: Sizes up to which ``digest`` keeps the projections' weights multiplied out for a shape (a ``[size, 4]`` array:
#: a column of ones for the sum, then the three projections): a row of a value pass at 32x32 is digested in a
#: third of the time. Larger arrays are projected one axis at a time.
_COMBINED_LIMIT = 1 << 16
_COMBINED: Dict[Tuple[int, ...], np.ndarray] = {}


def _combined_weights(shape: Tuple[int, ...]) -> np.ndarray:
    if shape not in _COMBINED:
        weights = _projection(len(shape) - 1, shape[-1])
        for axis in range(len(shape) - 2, -1, -1):
            weights = (_projection(axis, shape[axis])[:, None, :] * weights[None]).reshape(-1, 3)
        _COMBINED[shape] = np.concatenate([np.ones((len(weights), 1)), weights], axis=1)
    return _COMBINED[shape]


def _tensors(output) -> list:
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _tensors(item)]
    if isinstance(output, dict):
        return [t for item in output.values() for t in _tensors(item)]
    return [output] if hasattr(output, "numpy") and hasattr(output, "shape") else []


@dataclass
class ValuePass:
    """What one value pass computed: ``digests`` maps a row id to its digest (``None``: random, see
    ``random_rows``), in forward order; ``rows`` are the traced rows; ``dtype`` the precision it ran in."""

    rows: List[Row]
    digests: Dict[str, Optional[List[float]]]
    dtype: str
    mode: str
    input_size: List[int]
    random_rows: List[str] = field(default_factory=list)

    def as_entry(self) -> dict:
        """The ``outputs`` table of a golden entry."""
        return {"dtype": self.dtype, "input_size": list(self.input_size),
                "rows": [[row_id, value] for row_id, value in self.digests.items()]}


def _named_state(model) -> Dict[int, str]:
    """``id(tensor) -> name`` for every parameter and buffer (a shared one by its first name)."""
    names: Dict[int, str] = {}
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        names.setdefault(id(tensor), name)
    return names


class _Seeded:
    """What ``_seeded_state`` put in place: ``shared`` are the parameters that are views of ``windows``."""

    def __init__(self, windows: _Windows):
        self.windows, self.shared = windows, []

    @property
    def written(self) -> bool:
        """Whether the forward wrote a shared parameter in place (and so its neighbours in the sequence)."""
        return any(tensor._inplace_version() for tensor in self.shared)


@contextlib.contextmanager
def _seeded_state(model, dtype: str, share: bool = True):
    """Every parameter and buffer of ``model`` replaced by its ``seeded_value`` for the block; the originals
    (never read, never written: a LazyGuard model's have no values) are put back afterwards. With ``share``, the
    floating parameters are views of the seeded sequences (see ``_Windows``): if the block wrote one in place,
    the sequences are dropped (never used again, kept or not) and ``written`` says so, for the caller to run
    again without sharing. Buffers (which BatchNorm writes in train mode) are always copies."""
    import paddle
    from paddle.base.framework import EagerParamBase

    names = _named_state(model)
    seeded = _Seeded(_windows(dtype))
    made: Dict[int, object] = {}
    replaced = []
    tables = [(table, key, tensor) for layer in model.sublayers(include_self=True)
              for table in (layer._parameters, layer._buffers) for key, tensor in list(table.items())
              if tensor is not None and id(tensor) in names]
    plans = {}  # id(tensor) -> (name, shape, its dtype in the pass, kind)
    for _, _, tensor in tables:
        kind = str(tensor.dtype).rsplit(".", 1)[-1]
        own = dtype if kind.startswith(("float", "bfloat")) else kind
        shape = [int(d) for d in tensor.shape]
        plans[id(tensor)] = (names[id(tensor)], shape, own, _kind(names[id(tensor)], shape, own))
        seeded.windows.reserve(names[id(tensor)], shape, plans[id(tensor)][3])
    try:
        for table, key, tensor in tables:
            if id(tensor) not in made:
                name, shape, own, kind = plans[id(tensor)]
                window = seeded.windows.window(name, shape, kind)
                if share and own == dtype and isinstance(tensor, EagerParamBase):
                    made[id(tensor)] = _like(tensor, _shared(window))
                    seeded.shared.append(made[id(tensor)])
                else:
                    made[id(tensor)] = _like(tensor, paddle.to_tensor(window.astype(own)))
            replaced.append((table, key, tensor))
            table[key] = made[id(tensor)]
        yield seeded
    finally:
        for table, key, tensor in reversed(replaced):
            table[key] = tensor
        if seeded.written and _KEPT.get(dtype) is seeded.windows:
            del _KEPT[dtype]


def _like(original, value):
    """The tensor ``value`` as the model code and the tracer treat ``original``: a parameter (with its
    ``trainable`` and ``stop_gradient``) for a parameter, a plain tensor for a buffer."""
    from paddle.base.framework import EagerParamBase  # the class of dygraph parameters (Paddle 2.6 and 3.x)

    if not isinstance(original, EagerParamBase):
        return value
    if hasattr(EagerParamBase, "from_tensor"):  # Paddle 3: shares the tensor's memory instead of copying it
        parameter = EagerParamBase.from_tensor(value, trainable=original.trainable, name=f"{original.name}.seeded")
    else:
        parameter = EagerParamBase(list(value.shape), value.dtype, trainable=original.trainable,
                                   name=f"{original.name}.seeded")
        parameter.set_value(value)
    parameter.stop_gradient = original.stop_gradient
    return parameter


@contextlib.contextmanager
def in_mode(model, mode: str):
    """``model`` in ``mode`` (``"eval"`` or ``"train"``) for the block; every layer's own mode afterwards."""
    layers = model.sublayers(include_self=True)
    modes = [layer.training for layer in layers]
    try:
        for layer in layers:  # as model.train()/eval() do, without Paddle's slower __setattr__ per layer
            layer.__dict__["training"] = mode == "train"
        yield
    finally:
        for layer, training in zip(layers, modes):
            layer.__dict__["training"] = training


@contextlib.contextmanager
def _default_dtype(dtype: str):
    import paddle

    old = paddle.get_default_dtype()
    paddle.set_default_dtype(dtype)
    try:
        yield
    finally:
        paddle.set_default_dtype(old)


def value_pass(model, input_size, mode: str = "eval", dtype: Optional[str] = None) -> ValuePass:
    """Run ``model`` once on the seeded input with seeded parameters (see the module docstring) and digest every
    row's output. ``dtype`` ``None`` tries float64, then float32 if a kernel has no float64 version.

    Raises ``TraceError`` if the model does not run at ``input_size``.
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {', '.join(MODES)}")
    size = [int(d) for d in input_size]
    if dtype is not None:
        return _value_pass(model, size, mode, dtype)
    try:
        return _value_pass(model, size, mode, "float64")
    except TraceError:
        return _value_pass(model, size, mode, "float32")


def _value_pass(model, size, mode, dtype, share: bool = True) -> ValuePass:
    import paddle

    digests: Dict[str, Optional[List[float]]] = {}
    random_rows: List[str] = []
    tainted = set()
    observed: List[Tuple[Row, str]] = []  # each row and its id when it ran (the trace renumbers some at the end)

    def observe(row: Row, output) -> None:
        observed.append((row, row.id))
        tensors = _tensors(output)
        values = [v for t in tensors for v in digest(t.numpy())] if tensors else None
        sources = {str(ref).split("[", 1)[0] for ref in row.inputs if isinstance(ref, str)}
        if sources & tainted:
            tainted.add(row.id)
            values = None
        elif row.op in RANDOM_OPS and values is not None:
            source = str(row.inputs[0]).split("[", 1)[0] if row.inputs else None
            if not _inactive(digests.get(source), values, row.settings.get("p"), RTOL[dtype]):  # it drew noise
                random_rows.append(row.id)
                tainted.add(row.id)
                values = None
        digests[row.id] = values

    # batchnorm_note_silenced: Paddle warns that a BatchNorm in train mode tracks its statistics; a train-mode
    # entry is checked on purpose, and the note would reach the user's own warnings (a test's, a CI log).
    with in_mode(model, mode), _default_dtype(dtype), _seeded_state(model, dtype, share) as seeded, \
            batchnorm_note_silenced():
        example = paddle.to_tensor(value_input(size, dtype))
        digests[INPUT] = digest(example.numpy())
        traced = trace_graph(model, size, "eager", observe=observe, example=example)
    if seeded.written:  # the weights sharing the written one's memory changed under the forward: their own copies
        return _value_pass(model, size, mode, dtype, share=False)
    del digests[INPUT]
    final = {ran_as: row.id for row, ran_as in observed}  # repeated names numbered by data flow (trace.py)
    digests = {final[row_id]: values for row_id, values in digests.items()}
    return ValuePass(traced.rows, digests, dtype, mode, size, [final[row_id] for row_id in random_rows])


def _inactive(before: Optional[List[float]], after: List[float], p, rtol: float) -> bool:
    """Whether a dropout row computed no noise: its output is its input (inactive), or its input times ``1 - p``
    (``mode="downscale_in_infer"`` in inference), which scales every number of the digest by ``1 - p``."""
    if before is None:
        return False
    if after == before:
        return True
    return isinstance(p, (int, float)) and not isinstance(p, bool) and close([v * (1 - p) for v in before], after,
                                                                            rtol)


def eager_trace(model, input_size):
    """``trace_graph`` run eagerly, in the model's own mode, with seeded parameters in place of the model's
    (which are not touched, and which a model built under ``paddle.LazyGuard`` does not have) on the seeded
    input: the structure of a model the symbolic trace cannot follow."""
    import paddle

    size = [int(d) for d in input_size]
    with _seeded_state(model, "float32"), batchnorm_note_silenced():  # a weight written in place: shapes stay
        return trace_graph(model, size, "eager", observe=lambda row, output: None,
                           example=paddle.to_tensor(value_input(size, "float32")))


def close(expected: Optional[List[float]], actual: Optional[List[float]], rtol: float) -> bool:
    """Whether two digests agree within ``rtol`` of their scale (each tensor's root mean square)."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if len(expected) != len(actual):
        return False
    for start in range(0, len(expected), DIGEST_SIZE):
        e, a = expected[start:start + DIGEST_SIZE], actual[start:start + DIGEST_SIZE]
        scale = max(abs(e[1]), abs(a[1])) if len(e) > 1 else max(abs(e[0]), abs(a[0]))
        if any(abs(x - y) > rtol * scale for x, y in zip(e, a)):
            return False
    return True


def first_difference(recorded: dict, measured: ValuePass,
                     counterparts: Optional[Dict[str, Optional[str]]] = None) -> Optional[Tuple[str, list, list, int]]:
    """The first row (in the recorded forward order) whose digest differs from the value pass's, as
    ``(row id, expected, actual, rows differing in all)``; ``None`` if every shared row agrees. Rows on one side
    only are the structure's business (it reports them).

    ``counterparts`` (``compare.compare_rows``'s) pairs the measured rows with the recorded ones when their
    structures differ: each measured row is compared with the recorded row it pairs with (an added row with
    none), not with the recorded row that happens to have its id."""
    rtol = RTOL[recorded["dtype"]]
    digests = measured.digests
    if counterparts:
        digests = {counterparts.get(row_id, row_id): values for row_id, values in digests.items()
                   if counterparts.get(row_id, row_id) is not None}
    first, count = None, 0
    for row_id, expected in recorded["rows"]:
        if row_id not in digests:
            continue
        actual = digests[row_id]
        if not close(expected, actual, rtol):
            count += 1
            if first is None:
                first = (row_id, expected, actual)
    return None if first is None else (*first, count)
