"""The structural fingerprint of a model: what verification compares with the golden values.

A *fingerprint* describes a model's structure at one input size: parameter counts, MACs, the output shape
of every ResNet part (stem, stages, head), how many layers of each type it has, and a digest over every layer's
row (type, output shape, parameters, and kernel/stride/padding/groups of convolutions and pools) in forward
order. Parameter counts alone miss a moved stride or a changed padding; the digest does not.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Dict, List

from .._checks import normalize_input_size
from ..analysis.counting import count_params
from ..analysis.summary import part_summary
from ..analysis.trace import LayerCall, trace

#: Metrics that do not depend on the input size (the others are skipped when verifying at another size).
SIZE_INDEPENDENT = ("params", "layer_counts")


def digest_rows(rows) -> str:
    """SHA-256 (first 16 hex digits) over ``(type, output_shape, params, settings)`` rows in order."""
    text = "\n".join(
        f"{kind} {list(shape)} {params} {json.dumps(settings, sort_keys=True)}"
        for kind, shape, params, settings in rows
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(model, input_size, mode: str = "auto") -> dict:
    """The structural fingerprint of ``model`` at ``input_size`` (see the module docstring).

    >>> from paddle_resnet import resnet18
    >>> fp = fingerprint(resnet18(), (1, 3, 224, 224))
    >>> fp["macs"], fp["stage_shapes"]["layer4"]
    (1814073344, [1, 512, 7, 7])
    """
    size = normalize_input_size(input_size)
    calls = trace(model, size, mode)
    rows = structural_calls(calls)
    return {
        "params": count_params(model)._asdict(),
        "macs": sum(call.macs for call in calls),
        "output_shape": calls[-1].output_shape,
        "stage_shapes": {part: info["output_shape"] for part, info in part_summary(calls).items()},
        "layer_counts": dict(sorted(Counter(call.type for call in rows).items())),
        "digest": digest_rows((c.type, c.output_shape, c.params, c.settings) for c in rows),
    }


def flatten_metrics(values: dict, prefix: str = "") -> Dict[str, object]:
    """``{"params": {"total": 1}}`` -> ``{"params.total": 1}``; lists and scalars are leaves."""
    flat = {}
    for key, value in values.items():
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
