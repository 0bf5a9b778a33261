"""``verify_model``: compare a model's fingerprint with the golden values recorded for its architecture, and
say where it differs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .._checks import normalize_input_size
from .._process import frozen_gc
from .._progress import counted
from ..analysis.counting import count_params
from ..analysis.trace import Row, TraceError
from ..models.table import list_models
from ..specs import build_model, parse_model_spec
from .compare import LayerDifference, _shown, compare_rows, render_differences
from .fingerprint import LAYERS, fingerprint_and_rows, flatten_metrics
from .golden import golden_entry, load_golden
from .values import first_difference, in_mode, seeded_weights_kept, value_pass

#: Differing rows a report shows before saying how many more there are.
REPORT_LIMIT = 10


@dataclass
class VerifyResult:
    """What ``verify_model`` (or ``check_structure``) found.

    ``mismatches`` holds ``(metric, expected, actual)`` tuples: a metric (``params.total``, ``macs`` ...),
    ``"layers: <row id> <attribute>"`` for every attribute of a layer row that differs (``"... added"``,
    ``"... removed"`` for rows that appear on one side only, ``"... moved"`` for a row found at another place), or
    ``"values: <row id>"`` for the first row whose output values differ from the recorded digests.
    ``differences`` holds the same layer rows as ``LayerDifference`` objects, in forward order; ``compared`` says
    what was compared and ``unchecked`` what could not be (both appear in ``report()``'s first line).
    ``skipped`` is kept empty: nothing is skipped silently (a check at another input size runs at the golden's).
    """

    name: str
    input_size: List[int]
    mismatches: List[Tuple[str, object, object]] = field(default_factory=list)
    checks: List[Tuple[str, object, object, bool]] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    differences: List[LayerDifference] = field(default_factory=list)
    mode: str = "eval"
    compared: List[str] = field(default_factory=list)
    unchecked: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        """What was compared, in one line: ``191 structure rows, 191 value rows, params, MACs, ...``, and what
        was not."""
        text = ", ".join(self.compared)
        if self.unchecked:
            text += "; NOT checked: " + ", ".join(self.unchecked)
        return text

    def report(self, limit: Optional[int] = REPORT_LIMIT) -> str:
        """The result in words: what was compared; the metrics that differ, then the first ``limit`` differing
        layer rows by path and attribute, in forward order, how many more differ, and the first row whose values
        differ.

        >>> from paddle_resnet import resnet18
        >>> model = resnet18()
        >>> model.layer3[1].bn2._epsilon = 1e-3
        >>> print(verify_model(model, "resnet18").report())  # doctest: +ELLIPSIS
        resnet18: MISMATCH at input [1, 3, 224, 224] (eval mode)
          1 layer row differs from the golden entry:
            layer3.1.bn2: epsilon 1e-05 -> 0.001
          values: the first row whose values differ is layer3.1.bn2 (mean, rms ...); 25 rows differ in all
        """
        head = f"{self.name}: {'matches' if self.ok else 'MISMATCH'} at input {self.input_size} ({self.mode} mode)"
        notes = [f"  {note}" for note in self.notes]
        if self.ok:
            return "\n".join([f"{head}: {self.summary()}", *notes])
        lines = [head]
        structural = [m for m in self.metric_mismatches if m[0] not in (VALUES, "runs")]
        lines += [f"  {metric}: {_shown(expected)} -> {_shown(actual)}" for metric, expected, actual in structural]
        if self.differences:
            count = len(self.differences)
            lines.append(f"  {count} layer row{'s differ' if count > 1 else ' differs'} from the golden entry"
                         + (" (in forward order):" if count > 1 else ":"))
            lines += [f"    {line}" for line in render_differences(self.differences, limit)]
        # a model that stopped: after the rows that differ before it stopped (the cause), the failure itself
        lines += [f"  runs: {expected} -> {actual}" for metric, expected, actual in self.metric_mismatches
                  if metric == "runs"]
        lines += [f"  {VALUES}: {actual}" for metric, _, actual in self.metric_mismatches if metric == VALUES]
        if self.unchecked:
            lines.append("  NOT checked: " + ", ".join(self.unchecked))
        return "\n".join(lines + notes)

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


#: The metric of the value digests in ``mismatches``.
VALUES = "values"


def verify_model(model, name: str, input_size=None, golden: Optional[dict] = None) -> VerifyResult:
    """Check a model object against the golden entry for architecture ``name``.

    Args:
        model: the model to check (any ``paddle.nn.Layer``; its weights, mode and attributes are left as they
            were: the value pass uses seeded parameters in place of the model's own).
        name: the architecture whose golden values it should match, e.g. ``"resnet50"``.
        input_size: a size to check that the model also runs at. Everything is compared at the size the golden
            values were recorded at (values at another size do not exist); the report says so.
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


def verify_architectures(names: Optional[List[str]] = None,
                         golden: Optional[dict] = None) -> List[Tuple[str, VerifyResult]]:
    """Check architectures of our table (default: every one) against their golden entries, each built without
    weights (``paddle.LazyGuard``): what ``python -m paddle_resnet verify`` runs. Every entry is validated before
    a model is built (``GoldenFileError`` for a missing or damaged one); the value passes draw their seeded
    sequences once for all models, and the garbage collector leaves what existed before alone while the models
    are built (docs/verification.md says what that saves).

    >>> [(name, result.ok) for name, result in verify_architectures(["resnet20", "resnet32"])]
    [('resnet20', True), ('resnet32', True)]
    """
    golden = golden if golden is not None else load_golden()
    names = list_models() if names is None else list(names)
    entries = {name: golden_entry(name, golden) for name in names}
    with frozen_gc(), seeded_weights_kept():
        return [(name, check_entry(build_model(parse_model_spec(name)), entries[name], name)) for name in names]


def check_entry(model, entry: dict, name: str, input_size=None) -> VerifyResult:
    """Compare ``model`` with one golden ``entry`` (checked by ``golden.entry_problem``), in the entry's mode and
    at its input size; ``input_size``, if another, is only run (see ``verify_model``)."""
    recorded = normalize_input_size(entry["input_size"])
    result = VerifyResult(name, recorded, mode=entry["mode"])
    outputs = entry["outputs"]
    with in_mode(model, entry["mode"]):
        ran, counterparts = _check_structure(model, entry, recorded, result)
        if outputs is None:
            result.unchecked.append("values (the entry records none)")
        elif ran:
            _check_values(model, outputs, entry["mode"], result, counterparts)
        if input_size is not None and normalize_input_size(input_size) != recorded:
            _check_runs_at(model, normalize_input_size(input_size), recorded, result)
    return result


def _check_structure(model, entry: dict, size: List[int], result: VerifyResult):
    """The structural metrics and rows; whether the model ran, and how its rows pair with the recorded ones
    (``compare_rows``'s ``counterparts``; ``None``: by id, the rows being the recorded ones)."""
    ran, rows, counterparts = True, [], None
    try:
        values, rows = fingerprint_and_rows(model, size)
    except TraceError as error:
        ran = False
        values = {"params": count_params(model)._asdict()}
        result.mismatches.append(("runs", f"runs at {size}", str(error)))
        _locate_stop(result, entry["values"][LAYERS], getattr(error, "rows", None) or [],
                     getattr(error, "where", None))
    actual, expected = flatten_metrics(values), flatten_metrics(entry["values"])
    for metric in sorted(set(expected) | set(actual)):
        if not ran and metric not in actual:
            continue  # unknown, not wrong: the model did not run (reported above as "runs")
        want, got = expected.get(metric), actual.get(metric)
        matches = want == got
        result.checks.append((metric, want, got, matches))
        if not matches:
            result.mismatches.append((metric, want, got))
    recorded = entry["values"][LAYERS]
    result.compared.append(counted(len(recorded), "structure row"))
    if ran:
        counterparts = _check_layers(result, recorded, values[LAYERS], rows)
    else:
        result.unchecked.append("the rows after the model stopped, and the values (the model does not run)")
    kinds = [key for key in ("params", "macs", "output_shape", "stage_shapes", "layer_counts")
             if key in entry["values"]]
    result.compared += [_METRIC_NAMES[key] for key in kinds]
    return ran, counterparts


def _locate_stop(result: VerifyResult, recorded: list, partial: List[Row], stopped_at: Optional[str] = None) -> None:
    """A model that stopped: the rows it computed before stopping, compared with the recorded ones, so the report
    names the first row whose shape (or anything) differs, the cause, before the failure it led to. The recorded
    rows it never reached are not differences of their own."""
    if not partial:
        return
    expected = [Row.from_list(r) for r in recorded]
    # reached through the pairing, not by id: a repeated name is numbered by the data flow of the rows that ran,
    # so the partial trace's ``add#3`` can be the recorded ``add#5``
    counterparts: dict = {}
    differences = compare_rows(expected, partial, counterparts=counterparts)
    reached = {row_id for row_id in counterparts.values() if row_id is not None}
    position = {row.id: index for index, row in enumerate(expected)}
    last = max((index for index, row in enumerate(expected) if row.id in reached), default=-1)
    if stopped_at is not None:  # the first row of the layer it stopped in that it did not reach
        inside = (stopped_at + ".", stopped_at + ":")
        last = max(last, min((index for index, row in enumerate(expected) if row.id not in reached
                              and (row.id == stopped_at or row.id.startswith(inside))), default=-1))
    # a recorded row missing before the row the model stopped at is removed (a layer replaced by Identity); the
    # ones after it were never reached
    result.differences = [d for d in differences if d.change != "removed" or position[d.where] < last]
    for difference in result.differences:
        result.mismatches.append((f"{LAYERS}: {difference.where} {difference.change}", None, None))


_METRIC_NAMES = {"params": "params", "macs": "MACs", "output_shape": "output shape", "stage_shapes": "stage shapes",
                 "layer_counts": "layer counts"}


def _check_values(model, outputs: dict, mode: str, result: VerifyResult, counterparts=None) -> None:
    try:
        measured = value_pass(model, outputs["input_size"], mode, outputs["dtype"])
    except TraceError as error:
        result.mismatches.append((VALUES, f"runs at {outputs['input_size']}", f"does not run: {error}"))
        return
    recorded = outputs["rows"]
    random_rows = sum(1 for _, value in recorded if value is None)
    result.compared.insert(1, f"{counted(len(recorded) - random_rows, 'value row')} ({outputs['dtype']} at "
                              f"{outputs['input_size']})")
    if random_rows:
        result.unchecked.append(f"the values of {counted(random_rows, 'row')} at or after a random layer (dropout; "
                                "compared by their settings)")
    found = first_difference(outputs, measured, counterparts)
    result.checks.append((VALUES, counted(len(recorded), "value row"), "agree" if found is None else "differ",
                          found is None))
    if found is not None:
        row_id, expected, actual, count = found
        result.mismatches.append((VALUES, expected, (
            f"the first row whose values differ is {row_id} (mean, rms {_pair(expected)} -> {_pair(actual)}); "
            f"{count} row{'s' if count > 1 else ''} differ{'' if count > 1 else 's'} in all")))


def _pair(digest) -> str:
    return "random" if digest is None else f"{digest[0]:.6g}, {digest[1]:.6g}"


def _check_runs_at(model, size: List[int], recorded: List[int], result: VerifyResult) -> None:
    """``input_size`` other than the golden's: everything was compared at the golden's size; here the model only
    has to run."""
    result.notes.append(f"compared at the golden entry's input {recorded}, which is the only size it has values "
                        f"for; at {size} the model was only run (record an entry at {size} to compare there)")
    try:
        fingerprint_and_rows(model, size)
        result.checks.append(("runs", f"runs at {size}", "runs", True))
    except TraceError as error:
        result.mismatches.append(("runs", f"runs at {size}", str(error)))


def _check_layers(result: VerifyResult, recorded: list, traced: list, rows: List[Row]):
    """Compare the rows; return how they pair (actual id -> recorded id, ``None`` for an added row), or ``None``
    when they are the recorded rows."""
    if recorded == traced:  # the usual case, and fast: no alignment needed
        result.checks.append((LAYERS, counted(len(recorded), "row"), counted(len(traced), "row"), True))
        return None
    counterparts: dict = {}
    result.differences = compare_rows([Row.from_list(r) for r in recorded], rows, counterparts=counterparts)
    if not result.differences:  # every row paired, each computing the same from its inputs' counterparts
        result.checks.append((LAYERS, counted(len(recorded), "row"), counted(len(traced), "row"), True))
        result.notes.append("the layer rows are computed in another order than recorded (independent branches "
                            "reordered); the data flow is the same")
        return counterparts
    differ = "differs" if len(result.differences) == 1 else "differ"
    result.checks.append((LAYERS, counted(len(recorded), "row"),
                          f"{counted(len(traced), 'row')}, {len(result.differences)} {differ}", False))
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
    return counterparts
