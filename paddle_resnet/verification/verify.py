"""``verify_model``: compare a model's fingerprint with the golden values recorded for its architecture."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .._checks import normalize_input_size
from ..analysis.counting import count_params
from ..analysis.trace import TraceError
from .fingerprint import SIZE_INDEPENDENT, fingerprint, flatten_metrics
from .golden import golden_entry


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
