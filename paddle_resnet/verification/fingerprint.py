"""The structural fingerprint of a model: what verification compares with the golden values.

A *fingerprint* describes a model's structure at one input size: parameter counts, MACs, the output shape, the
output shape of every ResNet part (stem, stages, head) when it has them, how many layers of each type it calls,
and ``layers``: one row per step of the computation in forward order, every layer *and* every operation between
layers (the residual ``+``, ``paddle.concat``, ``F.relu`` ...), as ``analysis.trace.trace_graph`` records them:

    [id, type, inputs, output shape, parameters, settings]
    ["layer2.0.conv2", "Conv2D", ["layer2.0:relu"], [1, 128, 28, 28], 147456,
     {"channels": [128, 128], "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1], ...}]
    ["layer2.0:add", "add", ["layer2.0.bn3", "layer2.0.downsample.1"], [1, 512, 28, 28], 0, {}]

The rows are what lets a mismatch be *located*: ``compare.compare_rows`` aligns two row lists by id and names the
first rows and attributes that differ. Parameter counts alone miss a moved stride, a changed padding, a removed
residual addition or a changed BatchNorm epsilon; the rows do not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .._checks import normalize_input_size
from ..analysis.counting import count_params
from ..analysis.counting import part_summary
from ..analysis.shape_rules import TraceError, UnsupportedLayer
from ..analysis.trace import LayerCall, Row, Trace, trace_graph
from ..models.stages import stage_number
from .values import ValuePass, eager_trace, in_mode, value_pass

#: The metric holding the rows; compared row by row, not as one value.
LAYERS = "layers"


def fingerprint(model, input_size, mode: str = "auto") -> dict:
    """The structural fingerprint of ``model`` at ``input_size`` (see the module docstring).

    >>> from paddle_resnet import resnet18
    >>> fp = fingerprint(resnet18(), (1, 3, 224, 224))
    >>> fp["macs"], fp["stage_shapes"]["layer4"], fp["layers"][0][:4]
    (1814073344, [1, 512, 7, 7], ['conv1', 'Conv2D', ['input'], [1, 64, 112, 112]])
    """
    return fingerprint_and_rows(model, input_size, mode)[0]


def fingerprint_and_rows(model, input_size, mode: str = "auto") -> Tuple[dict, List[Row]]:
    """The fingerprint and the traced ``Row`` objects it was made from (which also carry what a comparison by
    computation needs)."""
    size = normalize_input_size(input_size)
    if mode == "auto":
        try:
            traced: Trace = trace_graph(model, size, "symbolic")
        except UnsupportedLayer:  # run it: with seeded parameters, so a LazyGuard model runs too
            traced = eager_trace(model, size)
    else:
        traced = trace_graph(model, size, mode)
    calls = traced.calls
    values = {
        "params": count_params(model)._asdict(),
        "macs": sum(call.macs for call in calls),
        "output_shape": calls[-1].output_shape,
    }
    parts = part_summary(calls)
    if any(stage_number(part) is not None for part in parts):  # a ResNet, or a backbone named like one
        values["stage_shapes"] = {part: info["output_shape"] for part, info in parts.items()}
    values["layer_counts"] = dict(sorted(Counter(call.type for call in structural_calls(calls)).items()))
    values[LAYERS] = [row.as_list() for row in traced.rows]
    return values, traced.rows


#: The largest height and width a value pass runs at by default (``default_value_size``): every row computes the
#: same function at 32x32 as at 224x224, in a fiftieth of the arithmetic (the structure, at the full size, holds
#: what depends on the size).
VALUE_SIDE = 32


def default_value_size(input_size) -> List[int]:
    """The input a value pass runs at: ``input_size`` with its height and width capped at ``VALUE_SIDE``."""
    batch, channels, height, width = normalize_input_size(input_size)
    return [batch, channels, min(height, VALUE_SIDE), min(width, VALUE_SIDE)]


@dataclass
class Measurement:
    """Everything a golden entry records of a model, measured: the structural fingerprint ``values`` and its
    ``rows``, and the value pass ``outputs`` (``None`` when values are off)."""

    mode: str
    input_size: List[int]
    values: dict
    rows: List[Row]
    outputs: Optional[ValuePass]

    def entry(self) -> dict:
        """The entry's tables, as a golden file keeps them (without ``sources``)."""
        return {"input_size": list(self.input_size), "mode": self.mode, "values": self.values,
                "outputs": self.outputs.as_entry() if self.outputs is not None else None}


def measure(model, input_size, mode: str, values=True, value_size=None, dtype=None) -> Measurement:
    """Measure ``model`` in ``mode`` (``"eval"`` or ``"train"``; its own mode is restored afterwards): its
    structure at ``input_size`` and, unless ``values`` is false, a value pass at ``value_size`` (default:
    ``default_value_size``, or ``input_size`` if the model does not run at that smaller size or some row's output
    is empty there).

    Raises ``TraceError`` if the model does not run at ``input_size``.
    """
    size = normalize_input_size(input_size)
    with in_mode(model, mode):
        fingerprint_values, rows = fingerprint_and_rows(model, size)
        outputs = None
        if values:
            at = normalize_input_size(value_size) if value_size is not None else default_value_size(size)
            if value_size is None and at != size and _too_small(model, at):
                at = size
            try:
                outputs = value_pass(model, at, mode, dtype)
            except TraceError:
                if value_size is not None or at == size:
                    raise
                outputs = None
            if value_size is None and at != size and (outputs is None or _has_empty_row(outputs.rows)):
                outputs = value_pass(model, size, mode, dtype)  # too small for it: at its own size
    return Measurement(mode, size, fingerprint_values, rows, outputs)


def _too_small(model, size: List[int]) -> bool:
    """Whether the shapes alone (a symbolic trace: no kernel runs) show that ``model`` does not run at ``size``, or
    that some row's output is empty there. Running kernels on empty tensors is not only pointless: some print
    errors of their own (MKL's ``cblas_dgemm`` on a convolution with no output pixel). ``False`` when the shapes
    cannot tell (a model the symbolic trace cannot follow): the value pass then finds out, its eager trace
    refusing a window that does not fit before the kernel (``WindowTooLarge``)."""
    try:
        return _has_empty_row(trace_graph(model, size, mode="symbolic").rows)
    except UnsupportedLayer:
        return False
    except TraceError:
        return True


def _has_empty_row(rows: List[Row]) -> bool:
    """Whether a row's output has no elements (a pool or convolution larger than its input): values there say
    nothing, and some kernels do not even run on it."""
    def empty(shape) -> bool:
        return any(empty(s) for s in shape) if shape and isinstance(shape[0], list) else 0 in shape
    return any(isinstance(row.shape, list) and empty(row.shape) for row in rows)


def flatten_metrics(values: dict, prefix: str = "") -> Dict[str, object]:
    """``{"params": {"total": 1}}`` -> ``{"params.total": 1}``; lists and scalars are leaves. The layer rows are
    left out: they are compared row by row (``compare.compare_rows``)."""
    flat = {}
    for key, value in values.items():
        if not prefix and key == LAYERS:
            continue
        if isinstance(value, dict):
            flat.update(flatten_metrics(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def structural_calls(calls: List[LayerCall]) -> List[LayerCall]:
    """The calls that describe the structure, in forward order: every layer except the model itself,
    pure containers (``Sequential``, ``LayerList``) and ``Flatten``.

    ``Flatten`` is left out because it is a reshape that some models write as a layer and others (like
    ``paddle.vision``) as a function call; leaving it out lets equivalent models compare equal.
    """
    return [c for c in calls
            if c.name and c.type not in ("Sequential", "LayerList", "Flatten")]
