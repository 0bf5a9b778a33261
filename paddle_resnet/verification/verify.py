"""``verify_model``: compare a model's fingerprint with the golden values recorded for its architecture, and
say where it differs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .._checks import normalize_input_size
from ..analysis.counting import count_params
from ..analysis.trace import Row, TraceError
from .compare import LayerDifference, _shown, compare_rows, render_differences
from .fingerprint import LAYERS, SIZE_INDEPENDENT, fingerprint_and_rows, flatten_metrics
from .golden import golden_entry

#: Differing rows a report shows before saying how many more there are.
REPORT_LIMIT = 10


@dataclass
class VerifyResult:
    """What ``verify_model`` (or ``check_structure``) found.

    ``mismatches`` holds ``(metric, expected, actual)`` tuples: a metric (``params.total``, ``macs`` ...), or
    ``"layers: <row id> <attribute>"`` for every attribute of a layer row that differs (``"... added"``,
    ``"... removed"`` for rows that appear on one side only, ``"... moved"`` for a row found at another place).
    ``differences`` holds the same layer rows as ``LayerDifference`` objects, in forward order; ``report()`` says
    it in words.
    """

    name: str
    input_size: List[int]
    mismatches: List[Tuple[str, object, object]] = field(default_factory=list)
    checks: List[Tuple[str, object, object, bool]] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    differences: List[LayerDifference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.ok

    def report(self, limit: Optional[int] = REPORT_LIMIT) -> str:
        """The result in words: the metrics that differ, then the first ``limit`` differing layer rows by path
        and attribute, in forward order, and how many more differ.

        >>> from paddle_resnet import resnet18
        >>> model = resnet18()
        >>> model.layer3[1].bn2._epsilon = 1e-3
        >>> print(verify_model(model, "resnet18").report())
        resnet18: MISMATCH at input [1, 3, 224, 224]
          1 layer row differs from the golden entry:
            layer3.1.bn2: epsilon 1e-05 -> 0.001
        """
        if self.ok:
            return f"{self.name}: matches at input {self.input_size} ({len(self.checks)} checks)"
        lines = [f"{self.name}: MISMATCH at input {self.input_size}"]
        lines += [f"  {metric}: {_shown(expected)} -> {_shown(actual)}"
                  for metric, expected, actual in self.metric_mismatches]
        if self.differences:
            count = len(self.differences)
            lines.append(f"  {count} layer row{'s differ' if count > 1 else ' differs'} from the golden entry"
                         + (" (in forward order):" if count > 1 else ":"))
            lines += [f"    {line}" for line in render_differences(self.differences, limit)]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:  # a notebook shows the result as a table
        from .notebook import result_markdown
        return result_markdown(self)

    def _repr_html_(self) -> str:
        from .notebook import result_html
        return result_html(self)

    @property
    def metric_mismatches(self) -> List[Tuple[str, object, object]]:
        """The mismatches that are not layer rows."""
        return [m for m in self.mismatches if not m[0].startswith(f"{LAYERS}:")]


def verify_model(model, name: str, input_size=None, golden: Optional[dict] = None) -> VerifyResult:
    """Check a model object against the golden entry for architecture ``name``.

    Args:
        model: the model to check (any ``paddle.nn.Layer``; not modified).
        name: the architecture whose golden values it should match, e.g. ``"resnet50"``.
        input_size: defaults to the size the golden values were recorded at. At another size only
            size-independent metrics (parameter and layer counts) are compared; the rest are ``skipped``.
        golden: a loaded golden file (``load_golden()``); read from the default place when omitted.

    Returns:
        ``VerifyResult`` with ``.ok``, ``.mismatches`` (``(metric, expected, actual)``), ``.differences`` (the
        layer rows that differ) and ``.report()``. A model that does not run at the input size is reported as a
        mismatch of the ``runs`` metric, not raised.

    >>> from paddle_resnet import resnet50
    >>> verify_model(resnet50(), "resnet50").ok
    True
    >>> result = verify_model(resnet50(num_classes=10), "resnet50")
    >>> result.ok, [metric for metric, _, _ in result.mismatches if metric.startswith("params")]
    (False, ['params.total', 'params.trainable'])
    >>> [d.describe() for d in result.differences]
    ['fc: features [2048, 1000] -> [2048, 10]; params 2049000 -> 20490; output shape [1, 1000] -> [1, 10]']
    """
    return check_entry(model, golden_entry(name, golden), name, input_size)


def check_entry(model, entry: dict, name: str, input_size=None) -> VerifyResult:
    """Compare ``model`` with one golden ``entry`` (``{"input_size", "values", "sources"}``)."""
    recorded = normalize_input_size(entry["input_size"])
    size = recorded if input_size is None else normalize_input_size(input_size)
    result = VerifyResult(name, size)
    ran, rows = True, []
    try:
        values, rows = fingerprint_and_rows(model, size)
    except TraceError as error:
        ran = False
        values = {"params": count_params(model)._asdict()}
        result.mismatches.append(("runs", f"runs at {size}", str(error)))
    actual, expected = flatten_metrics(values), flatten_metrics(entry["values"])
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
    if LAYERS in entry["values"]:
        if size != recorded:
            result.skipped.append(LAYERS)
        elif ran:
            _check_layers(result, entry["values"][LAYERS], values[LAYERS], rows)
    return result


def _check_layers(result: VerifyResult, recorded: list, traced: list, rows: List[Row]) -> None:
    if recorded == traced:  # the usual case, and fast: no alignment needed
        result.checks.append((LAYERS, f"{len(recorded)} rows", f"{len(traced)} rows", True))
        return
    result.differences = compare_rows([Row.from_list(r) for r in recorded], rows)
    result.checks.append((LAYERS, f"{len(recorded)} rows", f"{len(traced)} rows, {len(result.differences)} differ",
                          False))
    for difference in result.differences:
        where = f"{LAYERS}: {difference.where}"
        if difference.change == "removed":
            result.mismatches.append((f"{where} removed", difference.expected.as_list(), None))
        elif difference.change == "added":
            result.mismatches.append((f"{where} added", None, difference.actual.as_list()))
        else:
            if difference.change == "moved":
                result.mismatches.append((f"{where} moved", None, None))
            result.mismatches += [(f"{where} {attribute}", e, a) for attribute, (e, a) in
                                  difference.attributes.items()]
    if not result.differences:  # the same rows under other ids (say, two identical rows swapped)
        result.mismatches.append((LAYERS, "the recorded rows", "the same rows, named or ordered differently"))
