"""Structural verification: compare a model with the golden values recorded for its architecture.

A *fingerprint* describes a model's structure at one input size: parameter counts, MACs, the output shape
of every stage, how many layers of each type it has, and a digest over every layer's row (type, output
shape, parameters, and kernel/stride/padding/groups of convolutions and pools) in forward order. Parameter
counts alone miss a moved stride or a changed padding; the digest does not.

The golden values live in ``tests/golden/architectures.json`` (shipped inside the package as
``paddle_resnet/golden/``); each records where it came from. See ``docs/verification.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .atomic import atomic_write_text
from .counting import count_params
from .trace import TraceError, normalize_input_size, stage_summary, structural_calls, trace

#: Metrics that do not depend on the input size (the others are skipped when verifying at another size).
SIZE_INDEPENDENT = ("params", "layer_counts")


class GoldenFileError(Exception):
    """The golden file is missing, unreadable, or has no entry for the requested architecture."""


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
        "stage_shapes": {stage: info["output_shape"] for stage, info in stage_summary(calls).items()},
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


# --------------------------------------------------------------------------------------------- golden file


def default_golden_path() -> Path:
    """The golden file: ``$PADDLE_RESNET_GOLDEN``, the copy inside an installed package, or the checkout's."""
    if os.environ.get("PADDLE_RESNET_GOLDEN"):
        return Path(os.environ["PADDLE_RESNET_GOLDEN"])
    packaged = Path(__file__).parent / "golden" / "architectures.json"
    return packaged if packaged.exists() else Path(__file__).parents[1] / "tests" / "golden" / "architectures.json"


def load_golden(path: Optional[os.PathLike] = None) -> dict:
    """Read and sanity-check the golden file; ``GoldenFileError`` says what is wrong and what to do."""
    path = Path(path) if path is not None else default_golden_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GoldenFileError(f"golden file {path} not found; pass its path, set PADDLE_RESNET_GOLDEN, or restore "
                              "tests/golden/architectures.json from git") from None
    except (OSError, ValueError) as error:
        raise GoldenFileError(f"golden file {path} is not readable JSON ({error}); restore it from git") from None
    if not isinstance(data, dict) or not isinstance(data.get("architectures"), dict):
        raise GoldenFileError(f"golden file {path} has no 'architectures' table; restore it from git")
    for name, entry in data["architectures"].items():
        if not isinstance(entry, dict) or not {"input_size", "values", "sources"} <= set(entry):
            raise GoldenFileError(f"golden entry {name!r} in {path} lacks input_size/values/sources; restore it "
                                  "from git or rewrite it with `scripts/verify.py --update " + name + "`")
    data["path"] = str(path)
    return data


def golden_entry(name: str, golden: Optional[dict] = None) -> dict:
    """The golden entry for ``name``; ``GoldenFileError`` if the file has none."""
    golden = golden if golden is not None else load_golden()
    if name not in golden["architectures"]:
        raise GoldenFileError(f"no golden values for {name!r} in {golden.get('path', 'the golden file')}; "
                              f"record them with `scripts/verify.py --update {name}` (see docs/verification.md)")
    return golden["architectures"][name]


def write_golden(data: dict, path: Optional[os.PathLike] = None) -> Path:
    """Write the golden file atomically (a temporary file in the same folder, then a rename)."""
    path = Path(path) if path is not None else Path(data.get("path") or default_golden_path())
    content = {key: value for key, value in data.items() if key != "path"}
    # One line per shape or count list keeps the file readable and its diffs short.
    text = re.sub(r"\[\s+([-\d,\s]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]",
                  json.dumps(content, indent=1))
    atomic_write_text(path, text + "\n")
    return path


# ------------------------------------------------------------------------------------------------ verifying


@dataclass
class VerifyResult:
    """What ``verify_model`` found. ``mismatches`` holds ``(metric, expected, actual)`` tuples."""

    name: str
    input_size: List[int]
    mismatches: List[Tuple[str, object, object]] = field(default_factory=list)
    checks: List[Tuple[str, object, object, bool]] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.ok


def verify_model(model, name: str, input_size=None, golden: Optional[dict] = None) -> VerifyResult:
    """Check a model object against the golden entry for architecture ``name``.

    Args:
        model: the model to check (any ``paddle.nn.Layer``; not modified).
        name: the architecture whose golden values it should match, e.g. ``"resnet50"``.
        input_size: defaults to the size the golden values were recorded at. At another size only
            size-independent metrics (parameter and layer counts) are compared; the rest are ``skipped``.
        golden: a loaded golden file (``load_golden()``); read from the default place when omitted.

    Returns:
        ``VerifyResult`` with ``.ok`` and ``.mismatches`` (``(metric, expected, actual)``). A model that does
        not run at the input size is reported as a mismatch of the ``runs`` metric, not raised.

    >>> from paddle_resnet import resnet50
    >>> verify_model(resnet50(), "resnet50").ok
    True
    >>> result = verify_model(resnet50(num_classes=10), "resnet50")
    >>> result.ok, [metric for metric, _, _ in result.mismatches if metric.startswith("params")]
    (False, ['params.total', 'params.trainable'])
    """
    entry = golden_entry(name, golden)
    recorded = normalize_input_size(entry["input_size"])
    size = recorded if input_size is None else normalize_input_size(input_size)
    result = VerifyResult(name, size)
    ran = True
    try:
        actual = flatten_metrics(fingerprint(model, size))
    except TraceError as error:
        ran = False
        actual = flatten_metrics({"params": count_params(model)._asdict()})
        result.mismatches.append(("runs", f"runs at {size}", str(error)))
    expected = flatten_metrics(entry["values"])
    for metric in sorted(set(expected) | set(actual)):
        if size != recorded and metric.split(".")[0] not in SIZE_INDEPENDENT:
            result.skipped.append(metric)
            continue
        if not ran and metric not in actual:
            continue  # unknown, not wrong: the model did not run (reported above as "runs")
        want, got = expected.get(metric), actual.get(metric)
        matches = want == got
        result.checks.append((metric, want, got, matches))
        if not matches:
            result.mismatches.append((metric, want, got))
    return result
