"""Model against model: ``diff_models(a, b, input_size)`` says which layers differ and what each side costs.

For a researcher comparing two architectures (v1 against v1.5, ResNet-50 against ResNeXt-50) and for someone
porting weights between two implementations of the same network: compared ``by="path"`` the rows pair by their
names, compared ``by="computation"`` names are ignored and two implementations that compute the same network
under different class and attribute names come out equivalent (see ``compare.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import List, Optional

from tabulate import tabulate

from .._checks import check_choice, normalize_input_size
from .._progress import counted
from ..analysis.trace import Row
from .compare import BY, LayerDifference, compare_rows, render_differences
from .fingerprint import fingerprint_and_rows

FORMATS = ("text", "markdown", "json")


@dataclass
class Side:
    """One of the two models: its label, parameter counts, MACs, output shape and rows."""

    label: str
    params: dict
    macs: int
    output_shape: list
    rows: List[Row]


@dataclass
class ModelDiff:
    """What ``diff_models`` found: ``differences`` (``LayerDifference``, in forward order) compared ``by`` path or
    computation, and whether the two compute the same network regardless of names (``same_computation``)."""

    a: Side
    b: Side
    input_size: List[int]
    by: str
    differences: List[LayerDifference]
    same_computation: bool

    @property
    def same(self) -> bool:
        """No structural difference in the comparison asked for."""
        return not self.differences

    def verdict(self) -> str:
        rows = f"{len(self.a.rows)} and {len(self.b.rows)} rows"
        if self.same:
            extra = "; the same computation" if self.by == "path" else " (names ignored)"
            return f"compared by {self.by}: no structural difference ({rows}){extra}"
        differ = "differs" if len(self.differences) == 1 else "differ"
        text = f"compared by {self.by}: {counted(len(self.differences), 'row')} {differ} ({rows})"
        if self.by == "path" and self.same_computation:
            text += ("; by computation they are equivalent: the same operations in the same order, only the "
                     "names differ")
        return text

    def _repr_markdown_(self) -> str:  # a notebook shows the comparison as a table
        return self.render("markdown")

    def _repr_html_(self) -> str:
        from .notebook import diff_html
        return diff_html(self)

    def render(self, fmt: str = "text", limit: Optional[int] = None) -> str:
        """The comparison as ``text``, ``markdown`` or ``json``; ``limit`` caps the differences listed."""
        check_choice("format", fmt, FORMATS)
        if fmt == "json":
            return json.dumps({
                "input_size": self.input_size, "by": self.by, "same": self.same,
                "same_computation": self.same_computation,
                "models": {key: {"label": side.label, "params": side.params, "macs": side.macs,
                                 "output_shape": side.output_shape, "rows": len(side.rows)}
                           for key, side in (("a", self.a), ("b", self.b))},
                "delta": {"params": self.b.params["total"] - self.a.params["total"],
                          "macs": self.b.macs - self.a.macs},
                "differences": [_as_json(d) for d in self.differences],
            }, indent=1)
        totals = [[name, side.label, f"{side.params['total']:,}", f"{side.params['trainable']:,}", f"{side.macs:,}",
                   json.dumps(side.output_shape)] for name, side in (("A", self.a), ("B", self.b))]
        delta = {key: self.b.params[key] - self.a.params[key] for key in ("total", "trainable")}
        macs = self.b.macs - self.a.macs
        totals.append(["B - A", "", f"{delta['total']:+,}", f"{delta['trainable']:+,}", f"{macs:+,}", ""])
        headers = ["", "model", "params", "trainable", "MACs", "output shape"]
        lines = render_differences(self.differences, limit)
        if fmt == "markdown":
            table = tabulate(totals, headers, tablefmt="github")
            listed = "\n".join(f"- `{line.split(': ', 1)[0]}`: {line.split(': ', 1)[-1]}" if ": " in line
                               else f"- {line}" for line in lines)
            return f"{table}\n\nInput {self.input_size}, {self.verdict()}.\n" + (f"\n{listed}\n" if lines else "")
        table = tabulate(totals, headers, tablefmt="simple", colalign=("left", "left", "right", "right", "right"))
        body = "".join(f"\n  {line}" for line in lines)
        return f"{table}\n\ninput {self.input_size}, {self.verdict()}{':' if lines else ''}{body}"


def _as_json(difference: LayerDifference) -> dict:
    return {"change": difference.change, "where": difference.where, "label": difference.label,
            "attributes": {name: list(values) for name, values in difference.attributes.items()},
            "a": difference.expected.as_list() if difference.expected else None,
            "b": difference.actual.as_list() if difference.actual else None}


def diff_models(a, b, input_size, by: str = "path", labels=None) -> ModelDiff:
    """Compare two models at ``input_size``: ``a`` is the reference side, ``b`` the other (``added`` rows are
    ``b``'s only). ``labels`` name the two in the report (default: their class names).

    >>> from paddle_resnet import resnet50
    >>> result = diff_models(resnet50(), resnet50(stride_on="1x1"), (1, 3, 224, 224))
    >>> result.same, result.differences[0].describe()
    (False, 'layer2.0.conv1: stride [1, 1] -> [2, 2]; output shape [1, 128, 56, 56] -> [1, 128, 28, 28]')
    """
    check_choice("by", by, BY)
    size = normalize_input_size(input_size)
    sides = []
    labels = labels or (type(a).__name__, type(b).__name__)
    for label, model in zip(labels, (a, b)):
        values, rows = fingerprint_and_rows(model, size)
        sides.append(Side(label, values["params"], values["macs"], values["output_shape"], rows))
    differences = compare_rows(sides[0].rows, sides[1].rows, by)
    same_computation = not differences if by == "computation" else \
        not compare_rows(sides[0].rows, sides[1].rows, "computation")
    return ModelDiff(sides[0], sides[1], size, by, differences, same_computation)
