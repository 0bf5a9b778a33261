"""Model summaries: the layer table of ``paddle.summary`` (same columns, same footer) plus a per-stage table.

``summarize(model, input_size)`` traces the model once (symbolically: no convolution runs) and returns a
``Summary``; ``Summary.render(fmt, depth)`` turns it into text (``paddle.summary``'s fixed-width layout, plus
a column with each row's module path such as ``layer1.0.conv1``, which says where the layer is), markdown or
JSON. ``depth`` folds rows: ``"layers"`` (every layer), ``"blocks"`` (residual blocks as single
rows) or ``"stages"`` (one row for the stem, each stage and the head).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List

import numpy as np
from tabulate import tabulate

from .._checks import check_choice, normalize_input_size
from ..models.stages import block_of, part_of, stage_number
from .counting import CONTAINERS as _CONTAINERS, ParamCount, count_params, part_summary  # noqa: F401

if TYPE_CHECKING:
    from .trace import LayerCall

FORMATS = ("text", "markdown", "json")
DEPTHS = ("layers", "blocks", "stages")
_MB = 1024.0 ** 2


@dataclass
class Summary:
    """What a summary shows: the traced layer calls, parameter counts, and per-stage aggregates."""

    input_size: List[int]
    calls: List[LayerCall]
    params: ParamCount
    stages: Dict[str, dict]

    @property
    def macs(self) -> int:
        return sum(call.macs for call in self.calls)

    def layer_rows(self, depth: str = "layers") -> List[dict]:
        """Rows of the layer table, labelled ``Type-k`` as ``paddle.summary`` labels them.

        ``k`` numbers the layers of a type in the order they first run, which is the numbering
        ``paddle.summary`` prints for a model built in a fresh process.
        """
        check_choice("depth", depth, DEPTHS)
        numbers: Dict[str, int] = {}
        labels: Dict[str, str] = {}
        rows = []
        for call in self.calls:
            if not call.name or call.type in _CONTAINERS:
                continue  # paddle.summary lists neither the model itself nor pure containers
            if call.name not in labels:
                numbers[call.type] = numbers.get(call.type, 0) + 1
                labels[call.name] = f"{call.type}-{numbers[call.type]}"
            rows.append({"layer": labels[call.name], "name": call.name, "input_shape": call.input_shapes,
                         "output_shape": call.output_shape, "params": call.params, "macs": call.macs,
                         "stage": part_of(call.name), "block": block_of(call.name)})
        if depth == "layers":
            return rows
        # Fold: a block (or a stage) becomes one row carrying the sums of its layers' params and MACs.
        unit_of = (lambda row: row["block"] or row["name"]) if depth == "blocks" else (lambda row: row["stage"])
        folded: Dict[str, dict] = {}
        for row in rows:
            unit = unit_of(row)
            if unit not in folded:
                folded[unit] = {**row, "layer": unit if depth == "stages" else row["layer"], "name": unit,
                                "params": 0, "macs": 0}
            entry = folded[unit]
            entry["params"] += row["params"]
            entry["macs"] += row["macs"]
            entry["output_shape"] = row["output_shape"]
            if depth == "blocks" and row["name"] == unit:  # the block's own row: its label and input
                entry.update(layer=row["layer"], input_shape=row["input_shape"])
        return list(folded.values())

    def footer(self) -> Dict[str, float]:
        """``paddle.summary``'s footer numbers: parameter counts and its memory estimates in MB."""
        rows = self.layer_rows()
        # paddle.summary keeps one entry per layer object (a second call overwrites the first), so a layer
        # called twice counts once here too.
        last_call = {row["name"]: row for row in rows}
        total_output = sum(int(np.prod(row["output_shape"])) for row in last_call.values())
        input_mb = float(np.prod(self.input_size)) * 4 / _MB
        forward_backward_mb = 2.0 * total_output * 4 / _MB  # x2: activations and their gradients
        params_mb = self.params.total * 4 / _MB
        return {"total": self.params.total, "trainable": self.params.trainable,
                "non_trainable": self.params.non_trainable, "input_mb": input_mb,
                "forward_backward_mb": forward_backward_mb, "params_mb": params_mb,
                "total_mb": input_mb + forward_backward_mb + params_mb}

    def stage_rows(self) -> List[dict]:
        total = self.macs or 1
        return [{"stage": stage, "blocks": info["blocks"], "output_shape": info["output_shape"],
                 "params": info["params"], "macs": info["macs"], "share": info["macs"] / total}
                for stage, info in self.stages.items()]

    def render(self, fmt: str = "text", depth: str = "layers") -> str:
        """The summary as ``text`` (paddle.summary's layout), ``markdown`` or ``json``."""
        check_choice("format", fmt, FORMATS)
        rows, footer = self.layer_rows(depth), self.footer()
        if fmt == "json":
            return json.dumps({"input_size": self.input_size, "layers": [
                {key: row[key] for key in ("layer", "name", "input_shape", "output_shape", "params", "macs")}
                for row in rows], "params": self.params._asdict(), "macs": self.macs,
                "memory_mb": {k: round(v, 2) for k, v in footer.items() if k.endswith("_mb")},
                "stages": self.stage_rows()}, indent=1)
        if fmt == "markdown":
            paths = _module_paths(rows)
            layer_table = tabulate([[r["layer"], r["input_shape"], r["output_shape"], f"{r['params']:,}",
                                     *([r["name"]] if paths else [])] for r in rows],
                                   ["Layer (type)", "Input Shape", "Output Shape", "Param #", *(["Module"] * paths)],
                                   tablefmt="github", colalign=("left", "left", "left", "right", "left")[:4 + paths])
            totals = "\n".join(f"- {line}" for line in _footer_lines(footer))
            stages = f"\n{self._stage_table('github')}\n" if self.has_stages else ""
            return f"{layer_table}\n\n{totals}\n{stages}"
        stages = f"{self._stage_table('simple')}\n" if self.has_stages else ""
        return f"{_paddle_layout(rows, footer)}\n{stages}"

    @property
    def has_stages(self) -> bool:
        """Whether the model has ResNet stages (``layer1``...); a lone block has none."""
        return any(stage_number(stage) is not None for stage in self.stages)

    def _stage_table(self, tablefmt: str) -> str:
        body = [[r["stage"], r["blocks"] or "", r["output_shape"], f"{r['params']:,}", f"{r['macs']:,}",
                 f"{100 * r['share']:.1f}%"] for r in self.stage_rows()]
        body.append(["total", "", "", f"{self.params.total:,}", f"{self.macs:,}", "100.0%"])
        return tabulate(body, ["Stage", "Blocks", "Output Shape", "Params", "MACs", "Share of MACs"],
                        tablefmt=tablefmt, colalign=("left", "right", "left", "right", "right", "right"))


def summarize(model, input_size) -> Summary:
    """Trace ``model`` at ``input_size`` (``(batch, channels, height, width)``) and summarise it.

    >>> from paddle_resnet import resnet18
    >>> s = summarize(resnet18(), (1, 3, 224, 224))
    >>> s.params.total, s.macs
    (11699112, 1814073344)
    """
    from .trace import trace  # imports Paddle: only when a summary is made, not for FORMATS or DEPTHS

    size = normalize_input_size(input_size)
    calls = trace(model, size)
    return Summary(size, calls, count_params(model), part_summary(calls))


def _footer_lines(footer) -> List[str]:
    return [f"Total params: {footer['total']:,}", f"Trainable params: {footer['trainable']:,}",
            f"Non-trainable params: {footer['non_trainable']:,}"]


def _module_paths(rows) -> bool:
    """Whether the rows get a module path column: not when every label already is the path (one row per
    stage)."""
    return any(row["layer"] != row["name"] for row in rows)


def _paddle_layout(rows, footer) -> str:
    """The exact fixed-width layout of ``paddle.summary`` (paddle/hapi/model_summary.py), and to its right a
    column with each row's module path (the first ``table_width`` characters of each line are paddle.summary's)."""
    cells = [(r["layer"], str(r["input_shape"]), str(r["output_shape"]), f"{r['params']:,}") for r in rows]
    widths = [15, 20, 20, 15]
    for row in rows:  # paddle.summary sizes the columns by the raw (unformatted) values
        raw = [row["layer"], str(row["input_shape"]), str(row["output_shape"]), str(row["params"])]
        widths = [max(width, len(value)) for width, value in zip(widths, raw)]
    table_width = max(75, sum(widths) + 5)
    line = "{:^{}} {:^{}} {:^{}} {:^{}}"
    paths = [row["name"] for row in rows] if _module_paths(rows) else []
    path_width = max([len("Module"), *map(len, paths)]) + 1 if paths else 0
    rule_width = table_width + path_width

    def with_path(text: str, path: str) -> str:
        return f"{text:<{table_width}} {path}".rstrip() if paths else text

    out = ["-" * rule_width,
           with_path(line.format("Layer (type)", widths[0], "Input Shape", widths[1], "Output Shape", widths[2],
                                 "Param #", widths[3]), "Module"),
           "=" * rule_width]
    out += [with_path(line.format(c[0], widths[0], c[1], widths[1], c[2], widths[2], c[3], widths[3]), path)
            for c, path in zip(cells, paths or [""] * len(cells))]
    out += ["=" * rule_width, *_footer_lines(footer), "-" * rule_width,
            f"Input size (MB): {footer['input_mb']:0.2f}",
            f"Forward/backward pass size (MB): {footer['forward_backward_mb']:0.2f}",
            f"Params size (MB): {footer['params_mb']:0.2f}",
            f"Estimated Total Size (MB): {footer['total_mb']:0.2f}",
            "-" * rule_width]
    return "\n".join(out)
