"""Comparing two row lists (``analysis.trace.Row``) and saying *where* they differ.

``compare_rows(expected, actual)`` aligns the two sequences, so that a layer added or removed shows as added or
removed at its place and the rows after it still pair with their counterparts, then names the attributes that
differ in each pair (type, inputs, output shape, parameters, and every setting: kernel, stride, padding,
dilation, groups, channels, epsilon ...). Two ways to align:

- ``by="path"``: rows pair by id (``layer2.0.conv1``, ``layer2.0:add``): for a model against its golden entry,
  or two models that name their layers alike (ours and ``paddle.vision``'s).
- ``by="computation"``: names are ignored; rows pair by what they compute (operation, settings, shape,
  parameters), and their inputs are followed to the operations that produced them. Two implementations with
  different class and attribute names (ours and PaddleClas's) compare equal when they compute the same network.

In both, an input is compared through the pairing: a row whose input is the counterpart of the other's input has
the same input, even if its name changed. The alignment is by data flow, not by the order the forward happened to
run things in: a row computed at another place, from the counterparts of its inputs, is no difference (independent
branches computed in another order), while a concat, split or addition given other operands is (its inputs differ).
By computation, rows are put in an order that depends only on the data flow before they are aligned.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .._checks import check_choice
from ..analysis.ops import OPS
from ..analysis.trace import Row

BY = ("path", "computation")
_COMMUTATIVE = {op.name for op in OPS if op.commutative}


@dataclass
class LayerDifference:
    """One row that differs: ``change`` is ``"changed"``, ``"added"``, ``"removed"`` or ``"moved"`` (the same row
    at another place in the order); ``where`` the row's id (the expected side's, except for an added row);
    ``attributes`` maps each differing attribute to its ``(expected, actual)`` values."""

    change: str
    where: str
    attributes: Dict[str, Tuple[object, object]] = field(default_factory=dict)
    expected: Optional[Row] = None
    actual: Optional[Row] = None
    #: only the output shape differs, because an input's shape does: a consequence of a difference before it
    follows: bool = False
    #: for an added or removed row, the layer it is directly inside if both sides have it (its forward changed)
    within: str = ""

    def describe(self) -> str:
        """One line: ``layer2.0.conv1: stride [1, 1] -> [2, 2]; output shape ...``."""
        if self.change in ("added", "removed"):
            row = self.actual if self.change == "added" else self.expected
            return f"{self.label}: {self.change} ({summarize_row(row)})"
        changes = [f"{attribute} {_shown(e)} -> {_shown(a)}" for attribute, (e, a) in self.attributes.items()]
        return f"{self.label}: " + "; ".join((["moved"] if self.change == "moved" else []) + changes)

    @property
    def label(self) -> str:
        """``where``, and the actual layer's own name when it is recorded as an operation of its parent
        (``layer1.0:relu#2 (relu2)``) or named differently from its counterpart."""
        other = self.actual.name or self.actual.id if self.actual is not None else ""
        return f"{self.where} ({other})" if other and other != self.where else self.where


def summarize_row(row: Row) -> str:
    text = f"{row.type} {_text(row.shape)}"
    if row.params:
        text += f", {row.params:,} params"
    if row.settings:
        text += ", " + ", ".join(f"{key} {_text(value)}" for key, value in row.settings.items())
    return text


def _text(value) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _shown(value) -> str:
    """A compared value in words: ``absent`` where one side does not have the attribute."""
    return "absent" if value is None else _text(value)


def _base(row_id: str) -> str:
    return row_id.split("#", 1)[0]


def _operation_site(row: Row):
    """What an operation replaced by another at the same place has in common with it: the layer that performs it
    and the output shape (a GELU where a ReLU was is that row changed; a pad where zeros were made is not). A
    layer's row pairs only with the same path."""
    base = _base(row.id)
    return (base.split(":", 1)[0] + ":", str(row.shape)) if ":" in base else (base,)


def compare_rows(expected: List[Row], actual: List[Row], by: str = "path",
                 counterparts: Optional[Dict[str, Optional[str]]] = None) -> List[LayerDifference]:
    """The rows that differ between ``expected`` and ``actual``, in forward order (see the module docstring).
    ``counterparts``, if given, is filled with the pairing: each actual row's id -> its expected counterpart's id
    (``None`` for an added row), so that what is keyed by row id (the value digests) can be compared through it.

    >>> from paddle_resnet import resnet18
    >>> from paddle_resnet.analysis.trace import trace_graph
    >>> rows = trace_graph(resnet18(), (1, 3, 64, 64)).rows
    >>> v1 = resnet18()
    >>> v1.layer2[0].bn1._epsilon = 1e-3
    >>> [d.describe() for d in compare_rows(rows, trace_graph(v1, (1, 3, 64, 64)).rows)]
    ['layer2.0.bn1: epsilon 1e-05 -> 0.001']
    """
    check_choice("by", by, BY)
    if by == "computation":
        expected = _data_flow_order([r for r in expected if r.op])
        actual = _data_flow_order([r for r in actual if r.op])
        expected_keys, actual_keys = _computation_keys(expected), _computation_keys(actual)
        coarse: Callable[[Row], object] = lambda r: r.op
    else:
        expected_keys, actual_keys = [_base(r.id) for r in expected], [_base(r.id) for r in actual]
        coarse = _operation_site
    pairs, moved = _align(expected_keys, actual_keys, expected, actual, coarse)
    if by == "path":
        pairs = _pair_by_inputs(_pair_rewrapped(pairs, expected, actual), expected, actual)
    counterpart = {actual[j].id: expected[i].id for i, j in pairs if i is not None and j is not None}
    if counterparts is not None:
        counterparts.update({actual[j].id: None if i is None else expected[i].id for i, j in pairs if j is not None})
    reshaped = {actual[j].id for i, j in pairs if i is not None and j is not None
                and actual[j].shape != expected[i].shape}
    differences = []
    kept = {expected[i].id for i, j in pairs if i is not None and j is not None}
    removed = {expected[i].id for i, j in pairs if j is None}
    added = {actual[j].id for i, j in pairs if i is None}
    for i, j in pairs:
        if j is None:
            differences.append(LayerDifference("removed", expected[i].id, expected=expected[i],
                                               within=_kept_layer(expected[i].id, kept, removed)))
        elif i is None:
            differences.append(LayerDifference("added", actual[j].id, actual=actual[j],
                                               within=_kept_layer(actual[j].id, kept, added)))
        else:
            attributes = _attribute_differences(expected[i], actual[j], counterpart, by)
            # A row computed at another place in the order, from the counterparts of its inputs, computes the same
            # thing: independent branches evaluated in another order are one data flow, not a change.
            if attributes:
                change = "moved" if i in moved else "changed"
                follows = i not in moved and _only_the_shape(attributes, expected[i], actual[j]) and any(
                    ref.split("[", 1)[0] in reshaped for ref in actual[j].inputs if isinstance(ref, str))
                differences.append(LayerDifference(change, expected[i].id, attributes, expected[i], actual[j],
                                                   follows))
    return differences


def _only_the_shape(attributes, expected: Row, actual: Row) -> bool:
    """Whether the only differences are the output shape and settings that are that shape on both sides (a
    ``reshape`` to ``x.shape``-derived sizes)."""
    return "output shape" in attributes and all(
        name == "output shape" or (expected.settings.get(name) == expected.shape
                                   and actual.settings.get(name) == actual.shape) for name in attributes)


def _data_flow_order(rows: List[Row]) -> List[Row]:
    """``rows`` in an order that depends only on the data flow, not on the order the forward happened to compute
    independent branches in: each operation after the operations that produce its inputs, visited from the model's
    output back through the inputs in operand order (so a concat's first operand's branch comes first, whichever
    branch ran first). Rows no output depends on follow in their own order."""
    index = {row.id: position for position, row in enumerate(rows)}
    keys = dict(zip((row.id for row in rows), _computation_keys(rows)))
    consumed = {source for row in rows for source in row.sources if isinstance(source, str)}
    ordered, seen = [], set()
    for sink in [row for row in rows if row.id not in consumed] + rows:
        stack = [(sink, False)]
        while stack:  # post-order without recursion: a deep network's chain is thousands of rows
            row, expanded = stack.pop()
            if row.id in seen:
                continue
            if expanded:
                seen.add(row.id)
                ordered.append(row)
                continue
            stack.append((row, True))
            producers = [rows[index[s]] for s in row.sources if isinstance(s, str) and s in index]
            if row.op in _COMMUTATIVE:  # the operand order of an addition is not part of what it computes
                producers.sort(key=lambda producer: keys[producer.id])
            stack += [(producer, False) for producer in reversed(producers) if producer.id not in seen]
    return ordered


def _computation_keys(rows: List[Row]) -> List[str]:
    """What each row computes, and from what: its operation, settings, shape and parameters, the same of the
    operations that produce its inputs, and the operations and shapes that produce theirs (so that of two identical
    BatchNorms the one after the 3x3 convolution pairs with the one after the 3x3 convolution, and of two ReLUs
    ending two branches the one after the 1x1 convolution with the one after the 1x1 convolution). Two levels, not
    the whole history: a change upstream must not make every row after it look new."""
    made = {row.id: row for row in rows}

    def described(source, depth: int):
        if not isinstance(source, str) or source not in made:
            return source
        row = made[source]
        if depth == 0:
            return [row.op, row.shape]
        producers = [described(s, depth - 1) for s in row.sources]
        if row.op in _COMMUTATIVE:
            producers.sort(key=str)
        return [row.op, row.shape, row.params, row.settings, producers]

    return [json.dumps(described(row.id, 2), sort_keys=True) for row in rows]


def _align(expected_keys, actual_keys, expected, actual, coarse):
    """Index pairs in forward order: ``(i, j)`` for rows that correspond, ``(i, None)`` removed, ``(None, j)``
    added; and the expected indices of rows that moved (removed here and added there with the same key)."""
    pairs: List[Tuple[Optional[int], Optional[int]]] = []
    matcher = difflib.SequenceMatcher(None, expected_keys, actual_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += zip(range(i1, i2), range(j1, j2))
        elif tag == "delete":
            pairs += [(i, None) for i in range(i1, i2)]
        elif tag == "insert":
            pairs += [(None, j) for j in range(j1, j2)]
        else:  # replaced: an operation replaced by another at the same place is that row changed
            inner = difflib.SequenceMatcher(None, [coarse(r) for r in expected[i1:i2]],
                                            [coarse(r) for r in actual[j1:j2]], autojunk=False)
            for sub, a1, a2, b1, b2 in inner.get_opcodes():
                if sub == "equal":
                    pairs += zip(range(i1 + a1, i1 + a2), range(j1 + b1, j1 + b2))
                else:
                    pairs += [(i1 + i, None) for i in range(a1, a2)] + [(None, j1 + j) for j in range(b1, b2)]
    removed: Dict[str, List[int]] = {}
    for position, (i, j) in enumerate(pairs):
        if j is None:
            removed.setdefault(expected_keys[i], []).append(position)
    moved = set()
    for position, (i, j) in enumerate(pairs):
        if i is None and removed.get(actual_keys[j]):
            origin = removed[actual_keys[j]].pop(0)
            pairs[origin] = (pairs[origin][0], j)
            pairs[position] = (None, None)
            moved.add(pairs[origin][0])
    return [pair for pair in pairs if pair != (None, None)], moved


def _pair_rewrapped(pairs, expected: List[Row], actual: List[Row]):
    """``pairs`` with a removed row and an added row paired when they are one layer or operation whose path only
    gained or lost a level (a ReLU wrapped into ``Sequential(relu, tanh)``: ``block:relu`` became
    ``block.2:relu``): same type, shape, settings and parameters. The inserted or removed neighbour then is the one
    line, not the wrapped row removed and added again."""
    def what(row: Row) -> str:
        return json.dumps([row.type, row.shape, row.params, row.settings], sort_keys=True)

    def rewrapped(a: str, b: str) -> bool:  # a's path is b's with a level more, or the other way round
        (a_layer, _, a_op), (b_layer, _, b_op) = _base(a).partition(":"), _base(b).partition(":")
        if a_op != b_op or a_layer == b_layer:
            return False
        inner, outer = (a_layer, b_layer) if len(a_layer) > len(b_layer) else (b_layer, a_layer)
        return inner.startswith(outer + ".") if outer else True

    removed: Dict[str, List[int]] = {}
    for position, (i, j) in enumerate(pairs):
        if j is None:
            removed.setdefault(what(expected[i]), []).append(position)
    for position, (i, j) in enumerate(pairs):
        if i is not None:
            continue
        for origin in removed.get(what(actual[j]), []):
            if pairs[origin][1] is None and rewrapped(expected[pairs[origin][0]].id, actual[j].id):
                pairs[origin], pairs[position] = (pairs[origin][0], j), (None, None)
                break
    return [pair for pair in pairs if pair != (None, None)]


def _pair_by_inputs(pairs, expected: List[Row], actual: List[Row]):
    """``pairs`` with the operations of one name re-paired by data flow: aligned by their order alone, a
    block's two ``relu`` calls pair wrongly when the block computes its branches in another order (the first
    with the second), and so does a ``relu`` left alone when the other branch's became a ``relu6``. In forward
    order, an operation paired with a row that consumes other inputs (through the pairing) takes instead the row
    of its name that consumes the counterparts of its inputs, if that row is unpaired or also wrongly paired; its
    former partner gets the other's."""
    of_expected = {i: j for i, j in pairs if i is not None}
    of_actual = {j: i for i, j in pairs if j is not None}
    counterpart = {actual[j].id: expected[i].id for j, i in of_actual.items() if i is not None}
    named: Dict[str, List[int]] = {}
    for j, row in enumerate(actual):
        if ":" in row.id:
            named.setdefault(_base(row.id), []).append(j)

    def consistent(i, j) -> bool:  # the same inputs, through the pairing
        want, got = expected[i].inputs, [_mapped(ref, counterpart) for ref in actual[j].inputs]
        if expected[i].op in _COMMUTATIVE:
            want, got = sorted(want, key=str), sorted(got, key=str)
        return list(want) == got

    def same(i, j) -> bool:  # the same computation: inputs, settings, type, parameters, shape
        return consistent(i, j) and not _attribute_differences(expected[i], actual[j], counterpart, "path")

    for i, row in enumerate(expected):
        j = of_expected.get(i)
        candidates = named.get(_base(row.id), ()) if ":" in row.id else ()
        if len(candidates) < 2 and j is not None or (j is not None and same(i, j)):
            continue
        for other in sorted(candidates, key=lambda c: actual[c].id != row.id):  # the same name first
            partner = of_actual.get(other)
            if other == j or (partner is not None and same(partner, other)) or not same(i, other):
                continue
            of_expected[i], of_actual[other] = other, i  # i takes other; its former partner takes i's
            if partner is not None:
                of_expected[partner] = j
            if j is not None:
                of_actual[j] = partner
            counterpart[actual[other].id] = row.id
            if j is not None:
                counterpart.pop(actual[j].id, None)
                if partner is not None:
                    counterpart[actual[j].id] = expected[partner].id
            break
    # an operation replaced by another in a branch computed at another place: the unpaired rows of one layer's
    # forward, of one output shape, consuming the same inputs, are that row changed (relu -> relu6)
    unpaired = [j for j, row in enumerate(actual) if of_actual.get(j) is None and ":" in row.id]
    for i, row in enumerate(expected):
        if of_expected.get(i) is None and ":" in row.id:
            match = next((j for j in unpaired if _operation_site(actual[j]) == _operation_site(row)
                          and consistent(i, j)), None)
            if match is not None:
                unpaired.remove(match)
                of_expected[i], of_actual[match] = match, i
                counterpart[actual[match].id] = row.id
    repaired = []
    for i, j in pairs:  # the same places in the order; an actual row left without a partner is added there
        if i is not None:
            repaired.append((i, of_expected[i]))
        if j is not None and of_actual[j] is None:
            repaired.append((None, j))
    return repaired


def _mapped(ref, counterpart):
    """An actual row's input reference under the expected side's names (``block:split#2[1]`` included)."""
    if not isinstance(ref, str):
        return ref
    row_id, bracket, output = ref.partition("[")
    return counterpart.get(row_id, row_id) + bracket + output


def _attribute_differences(expected: Row, actual: Row, counterpart, by) -> Dict[str, Tuple[object, object]]:
    """The attributes that differ, causes first: the type, the settings, the parameters, the inputs, then the
    output shape (which often only follows from the others)."""
    differences = {}
    if by == "path" and expected.type != actual.type:
        differences["type"] = (expected.type, actual.type)
    if by == "computation" and expected.op != actual.op:
        differences["op"] = (expected.op, actual.op)
    for name in [*expected.settings, *(k for k in actual.settings if k not in expected.settings)]:
        if expected.settings.get(name) != actual.settings.get(name):
            differences[name] = (expected.settings.get(name), actual.settings.get(name))
    if expected.params != actual.params:
        differences["params"] = (expected.params, actual.params)
    want, got = (expected.sources, actual.sources) if by == "computation" else (expected.inputs, actual.inputs)
    mapped = [counterpart.get(ref, ref) if isinstance(ref, str) else ref for ref in got]
    if expected.op in _COMMUTATIVE:
        want, mapped = sorted(want, key=str), sorted(mapped, key=str)
    if list(want) != mapped:
        differences["inputs"] = (list(expected.inputs), list(actual.inputs))
    if expected.shape != actual.shape:
        differences["output shape"] = (expected.shape, actual.shape)
    return differences


def render_differences(differences: List[LayerDifference], limit: Optional[int] = 10) -> List[str]:
    """Lines describing ``differences`` in forward order: the first ``limit`` (``None``: all), then how many more.

    A removed (or added) layer with everything inside it is one line: ``layer3.5: removed (BottleneckBlock,
    and the 11 rows inside it)``; the rows whose output shape only follows from a changed shape before them (a
    stride changed upstream) are one line at the end: ``... and 70 rows after it whose output shape only follows
    from its``.
    """
    causes = [d for d in differences if not d.follows]
    following = len(differences) - len(causes)
    differences = causes
    lines, index = [], 0
    shown = 0
    while index < len(differences) and (limit is None or shown < limit):
        size = _group_size(differences, index)
        last = differences[index + size - 1]
        run = _run_length(differences, index)
        inside = _common_layer(differences[index:index + run]) if run > size else ""
        if inside:  # the rows inside a layer that itself stays (its forward changed): one line
            size = run
            kinds = [(d.actual if d.change == "added" else d.expected).type for d in differences[index:index + size]]
            lines.append(f"{inside}: {size} rows inside it {differences[index].change} ({', '.join(kinds[:4])}"
                         + (", ..." if size > 4 else "") + ")")
        elif size > 1:
            row = last.actual if last.change == "added" else last.expected
            lines.append(f"{last.where}: {last.change} ({row.type} {_text(row.shape)}, and the {size - 1} rows "
                         "inside it)")
        else:
            lines.append(differences[index].describe())
        index += size
        shown += 1
    rest = len(differences) - index
    if rest:
        lines.append(f"... and {rest} more row{'s' if rest > 1 else ''} differ{'s' if rest == 1 else ''}")
    if following:
        several = len(causes) > 1
        lines.append(f"... and {following} row{'s' if following > 1 else ''} after {'them' if several else 'it'} "
                     f"whose output shape only follows from {'theirs' if several else 'its'}")
    return lines


def _run_length(differences, start) -> int:
    """How many added (or removed) rows follow each other from ``start``."""
    end = start
    while end < len(differences) and differences[end].change == differences[start].change in ("added", "removed") \
            and not differences[end].follows:
        end += 1
    return max(end - start, 1)


def _kept_layer(row_id: str, kept, gone) -> str:
    """The layer both sides have that ``row_id`` is inside, through layers that are themselves ``gone`` (removed,
    or added) rows only, else ``""``."""
    layer = row_id.split(":", 1)[0] if ":" in row_id else row_id.rpartition(".")[0]
    while layer in gone:
        layer = layer.rpartition(".")[0]
    return layer if layer in kept else ""


def _common_layer(run) -> str:
    """The layer both sides have that all rows of ``run`` (two or more) are inside, ``""`` if none."""
    return run[0].within if len(run) > 1 and all(d.within == run[0].within for d in run) else ""


def _group_size(differences, start) -> int:
    """How many differences from ``start`` are one added or removed layer with everything inside it (its rows
    come first, the layer's own row last)."""
    change = differences[start].change
    if change == "changed":
        return 1
    end = start
    while end < len(differences) and differences[end].change == change:
        end += 1
    for stop in range(start + 1, end):  # the first row of the run that is a layer around all the rows before it
        inside = (differences[stop].where + ".", differences[stop].where + ":")
        if all(d.where.startswith(inside) for d in differences[start:stop]):
            return stop - start + 1
    return 1
