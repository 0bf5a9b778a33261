"""Model summaries for any ``paddle.nn.Layer``: ``paddle.summary``'s layout with torchinfo's columns.

``summarize(model, input_size)`` traces the model once (symbolically: no convolution runs) and returns a
``Summary``. Printing it shows the table; in a notebook it shows as an HTML table. ``Summary.render(fmt, depth,
columns)`` turns it into text (``paddle.summary``'s fixed-width layout: for the default columns its first 75
characters of every line are exactly paddle.summary's, then a Mult-Adds column and each row's module path such
as ``layer1.0.conv1``), markdown or JSON.

- Rows (``layer_rows``): every layer call in the order they finish (as ``paddle.summary`` lists them: a block
  after its layers), parameter-free layers (``ReLU``) included, a layer called twice as two rows, and the
  operations between layers (``x + identity``, ``paddle.concat`` ...) as rows of their own, labelled ``add-1``
  and placed where they ran (``kind="op"``: their Mult-Adds, not counted, show as ``--`` and add 0 to the totals).
- ``columns``: any of ``COLUMNS`` (torchinfo's ``col_names``): input size, output size, parameters, kernel size,
  Mult-Adds, trainable parameters. They are shown in that order.
- ``depth`` folds rows, as torchinfo's ``depth``: a whole number ``d`` keeps the module paths of at most ``d``
  parts (``layer1.0`` is depth 2) and adds the parameters and Mult-Adds of everything deeper into its row;
  ``"layers"`` keeps every row; ``"blocks"`` and ``"stages"`` fold a ResNet's residual blocks or parts (stem,
  stages, head), and for other models the blocks of the table below.
- Below the table: the parameter counts and memory figures of paddle.summary's footer, the totals with units
  (``25.6 M``, ``4.09 G``), and one row per part: per stage for a model with a ResNet's stage names
  (``layer1``...), per top-level block otherwise (``features.3`` of MobileNetV2).

A model that fails partway (a shape mismatch) raises ``TraceError`` whose ``summary`` attribute holds the rows
that ran, with the error as its last line: the table shows where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Union

import numpy as np
from tabulate import tabulate

from .._checks import check_choice, normalize_input_size
from .._html import html_lines, html_paragraph, html_table
from ..models.stages import HEAD, STEM, block_of, part_of, stage_number
from .counting import CONTAINERS as _CONTAINERS, ParamCount, count_params, part_summary  # noqa: F401

if TYPE_CHECKING:
    from .trace import LayerCall, Row

FORMATS = ("text", "markdown", "json")
#: Named depths; a whole number (1, 2 ...) is a depth too.
DEPTHS = ("layers", "blocks", "stages")
#: The selectable columns, in the order they are shown (torchinfo's ``col_names``, with our names).
COLUMNS = ("input_size", "output_size", "num_params", "kernel_size", "mult_adds", "trainable")
#: The default: paddle.summary's columns, then Mult-Adds.
DEFAULT_COLUMNS = ("input_size", "output_size", "num_params", "mult_adds")
HEADERS = {"input_size": "Input Shape", "output_size": "Output Shape", "num_params": "Param #",
           "kernel_size": "Kernel Shape", "mult_adds": "Mult-Adds", "trainable": "Trainable #"}
#: What the columns count, said under every table.
LEGEND = ("Param #: every parameter, BatchNorm's running mean and variance included (paddle.summary's count); "
          "Trainable #: the parameters an optimizer updates.\nMult-Adds: multiply-accumulates of convolutions and "
          "linear layers for one image, bias excluded; --: not counted (operations between layers).")
_PADDLE = ("input_size", "output_size", "num_params")  # paddle.summary's own columns, with its minimum widths
_MIN_WIDTH = {"layer": 15, "input_size": 20, "output_size": 20, "num_params": 15}
_MB = 1024.0 ** 2


def with_units(number: int) -> str:
    """``25610152`` -> ``25.6 M``; ``4089184256`` -> ``4.09 G``: three significant digits and a unit.

    >>> with_units(25610152), with_units(4089184256), with_units(512)
    ('25.6 M', '4.09 G', '512')
    """
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(number) >= scale:
            return f"{number / scale:.3g} {unit}"
    return str(number)


@dataclass(repr=False)
class Summary:
    """What a summary shows: the traced layer calls and rows, parameter counts, and per-part aggregates.

    ``columns`` and ``depth`` are what printing it (and a notebook) shows; ``render`` takes others. ``error`` is
    why the model stopped, for a model that does not run (then the rows are those that ran).
    """

    input_size: List[int]
    calls: List[LayerCall]
    params: ParamCount
    stages: Dict[str, dict]
    rows: List[Row] = field(default_factory=list)
    columns: Sequence[str] = DEFAULT_COLUMNS
    depth: Union[str, int] = "layers"
    error: Optional[str] = None

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one forward pass for one image (``count_macs``)."""
        return sum(call.macs for call in self.calls)

    @property
    def model_type(self) -> str:
        """The class name of the summarised model (``ResNet``)."""
        return next((call.type for call in reversed(self.calls) if not call.name), "model")

    def __str__(self) -> str:
        return self.render("text", self.depth, self.columns)

    def __repr__(self) -> str:
        return (f"<Summary of {self.model_type} at input {self.input_size}: {with_units(self.params.total)} params, "
                f"{with_units(self.macs)} Mult-Adds{'; stopped: ' + self.error if self.error else ''}>")

    def _repr_markdown_(self) -> str:
        return self.render("markdown", self.depth, self.columns)

    def _repr_html_(self) -> str:
        rows, columns = self.layer_rows(self.depth), _check_columns(self.columns)
        paths = _module_paths(rows)
        headers = ["Layer (type)", *(HEADERS[c] for c in columns), *(["Module"] * paths)]
        body = [[row["layer"], *(_value(row, c) for c in columns), *([_where(row)] * paths)] for row in rows]
        right = [False, *(c in ("num_params", "mult_adds", "trainable") for c in columns), *([False] * paths)]
        parts = self._parts_table()
        return "\n".join([
            html_table(headers, body, f"{self.model_type} at input {self.input_size}", right),
            *([html_paragraph(f"stopped: {self.error}")] if self.error else []),
            html_lines([*_footer_lines(self.footer()), self.totals(), *LEGEND.splitlines()]),
            *([html_table(parts[1], parts[0], right=[False, True, False, True, True, True, True])] if parts else []),
        ])

    # ------------------------------------------------------------------------------------------------- rows

    def entries(self) -> List[dict]:
        """Every layer call and every operation between layers, in the order they finished, unfolded; pure
        containers (``Sequential``) are included with ``kind="container"`` (the table does not list them)."""
        calls, position, shapes = self.calls, 0, {"input": self.input_size}
        out: List[dict] = []
        for row in self.rows:
            layer = row.name or ("" if ":" in row.id else row.id.split("#")[0])
            if layer:  # a layer's row: its call, and the calls that finished before it (containers, identities)
                while position < len(calls):
                    call, position = calls[position], position + 1
                    out.append(_call_entry(call))
                    if call.name == layer:
                        break
            else:
                inputs = [shape for shape in (_shape_of_ref(ref, shapes) for ref in row.inputs) if shape]
                out.append({"kind": "op", "name": row.id, "type": row.type, "input_shape": inputs,
                            "output_shape": row.shape, "params": row.params, "trainable": 0, "macs": 0,
                            "kernel": None})
            shapes[row.id] = row.shape
        out += [_call_entry(call) for call in calls[position:]]
        # The model itself is no row (as in paddle.summary), unless it holds parameters of its own.
        return [entry for entry in out if entry["name"] or entry["params"]]

    def layer_rows(self, depth: Union[str, int] = "layers") -> List[dict]:
        """Rows of the table, labelled ``Type-k`` as ``paddle.summary`` labels them (operations ``add-k``).

        ``k`` numbers the layers of a type in the order they first run, which is the numbering
        ``paddle.summary`` prints for a model built in a fresh process. ``depth``: see the module docstring.
        """
        depth = _check_depth(depth)
        numbers: Dict[str, int] = {}
        labels: Dict[str, str] = {}
        entries = self.entries()
        for entry in entries:
            if entry["name"] not in labels:
                numbers[entry["type"]] = numbers.get(entry["type"], 0) + 1
                labels[entry["name"]] = f"{entry['type']}-{numbers[entry['type']]}"
            entry.update(layer=labels[entry["name"]], stage=part_of(_path(entry)), block=block_of(_path(entry)))
        if depth == "layers":
            return [entry for entry in entries if entry["kind"] != "container"]
        unit_of = self._unit_function(depth)
        folded: Dict[str, dict] = {}
        shown = []
        for entry in entries:
            unit = unit_of(entry)
            if unit is None:
                if entry["kind"] != "container":
                    shown.append(entry)
                continue
            if unit not in folded:
                folded[unit] = {**entry, "layer": unit, "name": unit, "kind": "unit", "params": 0, "trainable": 0,
                                "macs": 0, "kernel": None, "members": 0}
                shown.append(folded[unit])
            target = folded[unit]
            target["params"] += entry["params"]
            target["trainable"] += entry["trainable"]
            target["macs"] += entry["macs"]
            target["output_shape"] = entry["output_shape"]
            if entry["name"] == unit:  # the unit's own layer: its label (a container's is its path) and shapes
                named = entry["type"] in _CONTAINERS or (depth == "stages" and self.has_stages)
                target.update(layer=unit if named else entry["layer"],
                              input_shape=entry["input_shape"], type=entry["type"])
            else:
                target["members"] += 1
        # A container that nothing was folded into stays unlisted, as at full depth.
        return [row for row in shown if not (row.get("kind") == "unit" and row["type"] in _CONTAINERS
                                             and not row["members"])]

    def _unit_function(self, depth):
        """``entry -> the path of the row it is folded into``, or ``None`` for a row of its own."""
        if isinstance(depth, int):
            def by_depth(entry):
                parts = _path(entry).split(".") if _path(entry) else []
                # a layer at depth d is the row its sublayers fold into; an operation belongs to its owner
                return ".".join(parts[:depth]) if len(parts) >= depth else None
            return by_depth
        if self.has_stages and depth == "stages":
            seen_stage = []

            def by_stage(entry):
                path = _path(entry)
                if stage_number(path.split(".")[0]) is not None:
                    seen_stage.append(True)
                if not path:  # an operation of the model's own forward: before the stages or after them
                    return HEAD if seen_stage else STEM
                return part_of(path)
            return by_stage
        if self.has_stages:
            return lambda entry: block_of(_path(entry)) or None
        expand = self._expanded_containers()

        def by_block(entry):
            parts = _path(entry).split(".") if _path(entry) else []
            if not parts:
                return None
            keep = 2 if parts[0] in expand and len(parts) > 1 else 1
            return ".".join(parts[:keep])
        return by_block

    def _expanded_containers(self) -> set:
        """Top-level pure containers that hold blocks (MobileNetV2's ``features``): their children are the
        blocks of the per-block view."""
        containers = {call.name for call in self.calls if call.name and "." not in call.name
                      and call.type in _CONTAINERS}
        return {call.name.split(".")[0] for call in self.calls
                if call.name.count(".") == 1 and call.is_container and call.name.split(".")[0] in containers}

    # ------------------------------------------------------------------------------------------- totals

    def footer(self) -> Dict[str, float]:
        """``paddle.summary``'s footer numbers: parameter counts and its memory estimates in MB."""
        # paddle.summary keeps one entry per layer object (a second call overwrites the first), so a layer
        # called twice counts once here too; operations between layers are none of its rows.
        last_call = {row["name"]: row for row in self.layer_rows() if row["kind"] == "layer"}
        total_output = sum(int(np.prod(row["output_shape"])) for row in last_call.values()
                           if _is_shape(row["output_shape"]))
        input_mb = float(np.prod(self.input_size)) * 4 / _MB
        forward_backward_mb = 2.0 * total_output * 4 / _MB  # x2: activations and their gradients
        params_mb = self.params.total * 4 / _MB
        return {"total": self.params.total, "trainable": self.params.trainable,
                "non_trainable": self.params.non_trainable, "input_mb": input_mb,
                "forward_backward_mb": forward_backward_mb, "params_mb": params_mb,
                "total_mb": input_mb + forward_backward_mb + params_mb}

    def totals(self) -> str:
        """``Totals: 25.6 M params (25,610,152), 25.6 M trainable (25,557,032), 4.09 G Mult-Adds ...``."""
        params = self.params
        macs = f"{with_units(self.macs)} Mult-Adds ({self.macs:,}) per image"
        return (f"Totals: {with_units(params.total)} params ({params.total:,}), {with_units(params.trainable)} "
                f"trainable ({params.trainable:,}), {macs}" + (" (up to where it stopped)" if self.error else ""))

    @property
    def has_stages(self) -> bool:
        """Whether the model has ResNet stages (``layer1``...); a lone block or another network has none."""
        return any(stage_number(stage) is not None for stage in self.stages)

    def stage_rows(self) -> List[dict]:
        """One row per part of the table below the layers: per stage (``stem``, ``layer1`` ..., ``head``) for a
        ResNet, per top-level block otherwise; each with its share of the Mult-Adds."""
        total = self.macs or 1
        rows = self.layer_rows("stages")
        return [{"stage": row["name"], "type": row["type"],
                 "blocks": self.stages.get(row["name"], {}).get("blocks", 0) if self.has_stages else None,
                 "output_shape": row["output_shape"], "params": row["params"], "trainable": row["trainable"],
                 "macs": row["macs"], "share": row["macs"] / total} for row in rows]

    def _parts_table(self):
        """``(body, headers)`` of the per-part table, or ``None`` when there is one part only."""
        rows = self.stage_rows()
        if len(rows) < 2:
            return None
        first = ["Stage", "Blocks"] if self.has_stages else ["Block", "Type"]
        body = [[r["stage"], (r["blocks"] or "") if self.has_stages else r["type"], _text(r["output_shape"]),
                 f"{r['params']:,}", f"{r['trainable']:,}", f"{r['macs']:,}", f"{100 * r['share']:.1f}%"]
                for r in rows]
        body.append(["total", "", "", f"{self.params.total:,}", f"{self.params.trainable:,}", f"{self.macs:,}",
                     "100.0%"])
        return body, [*first, "Output Shape", "Param #", "Trainable #", "Mult-Adds", "Share of Mult-Adds"]

    # ------------------------------------------------------------------------------------------- render

    def render(self, fmt: str = "text", depth: Union[str, int] = None, columns: Optional[Sequence[str]] = None) -> str:
        """The summary as ``text`` (paddle.summary's layout), ``markdown`` or ``json``, at ``depth`` (default
        the summary's own) with ``columns`` (default the summary's own; see ``COLUMNS``)."""
        check_choice("format", fmt, FORMATS)
        depth = self.depth if depth is None else depth
        columns = _check_columns(self.columns if columns is None else columns)
        rows, footer = self.layer_rows(depth), self.footer()
        if fmt == "json":
            keys = ("layer", "name", "kind", "type", "input_shape", "output_shape", "kernel", "params", "trainable",
                    "macs")
            return json.dumps({"input_size": self.input_size, "layers": [{key: row[key] for key in keys}
                                                                         for row in rows],
                               "params": self.params._asdict(), "macs": self.macs,
                               "memory_mb": {k: round(v, 2) for k, v in footer.items() if k.endswith("_mb")},
                               "stages": self.stage_rows(), "error": self.error}, indent=1)
        parts = self._parts_table()
        if fmt == "markdown":
            paths = _module_paths(rows)
            layer_table = tabulate([[r["layer"], *(_value(r, c) for c in columns), *([_where(r)] * paths)]
                                    for r in rows],
                                   ["Layer (type)", *(HEADERS[c] for c in columns), *(["Module"] * paths)],
                                   tablefmt="github", disable_numparse=True,
                                   colalign=["left", *(_align(c) for c in columns), *(["left"] * paths)])
            stopped = f"\n**Stopped here:** {self.error}\n" if self.error else ""
            notes = "\n".join(f"- {line}" for line in (*_footer_lines(footer), self.totals(), *LEGEND.splitlines()))
            align = ("left", "right" if self.has_stages else "left", "left", "right", "right", "right", "right")
            table = f"\n{tabulate(parts[0], parts[1], 'github', disable_numparse=True, colalign=align)}\n" \
                if parts else ""
            return f"{layer_table}\n{stopped}\n{notes}\n{table}"
        text = _paddle_layout(rows, columns, footer, self.error)
        align = ("left", "right" if self.has_stages else "left", "left", "right", "right", "right", "right")
        table = f"{tabulate(parts[0], parts[1], tablefmt='simple', disable_numparse=True, colalign=align)}\n" \
            if parts else ""
        return f"{text}\n{self.totals()}\n{LEGEND}\n{table}"


def summarize(model, input_size, columns: Sequence[str] = DEFAULT_COLUMNS, depth: Union[str, int] = "layers",
              mode: str = "auto") -> Summary:
    """Trace ``model`` (any ``paddle.nn.Layer``) at ``input_size`` (``(batch, channels, height, width)``) and
    summarise it; ``columns`` and ``depth`` are what printing the summary shows (see the module docstring).

    >>> from paddle_resnet import resnet18
    >>> s = summarize(resnet18(), (1, 3, 224, 224))
    >>> s.params.total, s.macs
    (11699112, 1814073344)
    >>> print(s.totals())
    Totals: 11.7 M params (11,699,112), 11.7 M trainable (11,689,512), 1.81 G Mult-Adds (1,814,073,344) per image
    >>> print(summarize(resnet18(), (1, 3, 64, 64), columns=["output_size", "mult_adds"], depth=1))
    ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    ----------------------------------------------------------------
       Layer (type)         Output Shape         Mult-Adds   Module
    ================================================================
         Conv2D-1         [1, 64, 32, 32]        9,633,792   conv1
    ...
          layer1          [1, 64, 16, 16]       37,748,736   layer1
    ...

    Raises:
        TraceError: the model does not run at ``input_size``; its ``summary`` attribute is the summary of the
            rows that ran (printing it shows the table up to the failure, and the error).
    """
    from .trace import TraceError, trace_graph  # imports Paddle: only when a summary is made

    size = normalize_input_size(input_size)
    _check_depth(depth)
    columns = _check_columns(columns)
    try:
        traced = trace_graph(model, size, mode)
    except TraceError as error:
        partial = getattr(error, "partial", None)
        if partial is not None:
            error.summary = Summary(size, partial.calls, count_params(model), part_summary(partial.calls),
                                    partial.rows, columns, depth, str(error))
        raise
    return Summary(size, traced.calls, count_params(model), part_summary(traced.calls), traced.rows, columns, depth)


# ---------------------------------------------------------------------------------------------------- helpers


def _call_entry(call) -> dict:
    return {"kind": "container" if call.type in _CONTAINERS else "layer", "name": call.name, "type": call.type,
            "input_shape": call.input_shapes, "output_shape": call.output_shape, "params": call.params,
            "trainable": call.trainable_params, "macs": call.macs, "kernel": call.settings.get("kernel")}


def _where(row) -> str:
    """The module column: the row's path, ``(model)`` for the model's own parameters."""
    return row["name"] or "(model)"


def _path(entry) -> str:
    """Where a row sits in the model: a layer's path, an operation's owner (``layer1.0`` for ``layer1.0:add``)."""
    return entry["name"].split(":")[0]


def _shape_of_ref(ref, shapes):
    if not isinstance(ref, str):
        return None
    if ref in shapes:
        return shapes[ref]
    base, _, index = ref.rpartition("[")  # one output of several: "name[1]"
    if base in shapes and index[:-1].isdigit() and isinstance(shapes[base], list):
        values = shapes[base]
        return values[int(index[:-1])] if int(index[:-1]) < len(values) else None
    return None


def _is_shape(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) for v in value)


def _check_depth(depth):
    if isinstance(depth, bool) or not (depth in DEPTHS or (isinstance(depth, int) and depth >= 1)):
        raise ValueError(f"depth={depth!r}: expected one of {', '.join(map(repr, DEPTHS))} or a whole number >= 1")
    return depth


def _check_columns(columns) -> List[str]:
    if isinstance(columns, str):
        columns = [columns]
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown or not columns:
        raise ValueError(f"columns={list(columns)!r}: expected one or more of {', '.join(COLUMNS)}")
    return [c for c in COLUMNS if c in columns]


def _text(value) -> str:
    return "--" if value is None else str(value)


def _value(row, column) -> str:
    if column == "input_size":
        return str(row["input_shape"])
    if column == "output_size":
        return str(row["output_shape"])
    if column == "num_params":
        return f"{row['params']:,}"
    if column == "kernel_size":
        return _text(row["kernel"])
    if column == "mult_adds":
        return "--" if row["kind"] == "op" else f"{row['macs']:,}"
    return "--" if row["kind"] == "op" else f"{row['trainable']:,}"


def _align(column) -> str:
    return "right" if column in ("num_params", "mult_adds", "trainable") else "left"


def _footer_lines(footer) -> List[str]:
    return [f"Total params: {footer['total']:,}", f"Trainable params: {footer['trainable']:,}",
            f"Non-trainable params: {footer['non_trainable']:,}"]


def _module_paths(rows) -> bool:
    """Whether the rows get a module path column: not when every label already is the path (one row per
    stage)."""
    return any(row["layer"] != row["name"] for row in rows)


def _paddle_layout(rows, columns, footer, error=None) -> str:
    """The fixed-width layout of ``paddle.summary`` (paddle/hapi/model_summary.py): the label and paddle.summary's
    own columns among ``columns`` exactly as it prints them (with the default columns, the first ``table_width``
    characters of each line are paddle.summary's); then the other columns and each row's module path."""
    own = [c for c in columns if c in _PADDLE]
    extra = [c for c in columns if c not in _PADDLE]
    widths = [_MIN_WIDTH["layer"], *(_MIN_WIDTH[c] for c in own)]
    for row in rows:  # paddle.summary sizes its columns by the raw (unformatted) values
        raw = [row["layer"], *(str(row["params"]) if c == "num_params" else _value(row, c) for c in own)]
        widths = [max(width, len(value)) for width, value in zip(widths, raw)]
    extra_widths = [max(len(HEADERS[c]) + 4, *(len(_value(row, c)) + 2 for row in rows)) for c in extra]
    table_width = sum(widths) + len(widths) + 1
    table_width = max(75, table_width) if own == list(_PADDLE) else table_width  # paddle.summary's minimum
    paths = [_where(row) for row in rows] if _module_paths(rows) else []
    path_width = max([len("Module"), *map(len, paths)]) + 1 if paths else 0
    rule_width = table_width + sum(w + 1 for w in extra_widths) + path_width

    def line(label: str, cells: Sequence[str], extras: Sequence[str], path: str) -> str:
        text = " ".join(f"{value:^{width}}" for value, width in zip([label, *cells], widths))
        if not (extra or paths):
            return text  # paddle.summary's line as it prints it
        text = f"{text:<{table_width}}" + "".join(f" {value:^{width}}" for value, width in zip(extras, extra_widths))
        return f"{text} {path}".rstrip()

    out = ["-" * rule_width, line("Layer (type)", [HEADERS[c] for c in own], [HEADERS[c] for c in extra], "Module"),
           "=" * rule_width]
    out += [line(row["layer"], [_value(row, c) for c in own], [_value(row, c) for c in extra], path)
            for row, path in zip(rows, paths or [""] * len(rows))]
    if error:
        out.append(f"!! stopped here: {error}")
    out += ["=" * rule_width, *_footer_lines(footer), "-" * rule_width,
            f"Input size (MB): {footer['input_mb']:0.2f}",
            f"Forward/backward pass size (MB): {footer['forward_backward_mb']:0.2f}",
            f"Params size (MB): {footer['params_mb']:0.2f}",
            f"Estimated Total Size (MB): {footer['total_mb']:0.2f}",
            "-" * rule_width]
    return "\n".join(out)
