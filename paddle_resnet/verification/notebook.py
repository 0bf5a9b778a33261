"""Verification results and model diffs as tables in a notebook (Jupyter, AI Studio): what the
``_repr_markdown_`` and ``_repr_html_`` methods of ``VerifyResult`` and ``ModelDiff`` show. The text is the
reports' own (``VerifyResult.report``, ``ModelDiff.render``), laid out as tables; every cell is escaped."""

from __future__ import annotations

import json

from tabulate import tabulate

from .._html import html_lines, html_paragraph, html_table
from .compare import _shown, render_differences

_METRIC_HEADERS = ["metric", "expected", "actual"]


def _title(result) -> str:
    return result.report().splitlines()[0]


def _metric_rows(result):
    return [[metric, _cell(expected), _cell(actual)] for metric, expected, actual in result.metric_mismatches]


def _cell(value) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else _shown(value)


def result_markdown(result) -> str:
    """``**resnet18: MISMATCH at input [...]**``, a table of the metrics that differ, the differing layer rows."""
    parts = [f"**{_title(result)}**"]
    if result.metric_mismatches:
        parts.append(tabulate(_metric_rows(result), _METRIC_HEADERS, tablefmt="github", disable_numparse=True))
    if result.differences:
        parts.append("\n".join(f"- {line}" for line in render_differences(result.differences, None)))
    return "\n\n".join(parts) + "\n"


def result_html(result) -> str:
    parts = [html_paragraph(_title(result))]
    if result.metric_mismatches:
        parts.append(html_table(_METRIC_HEADERS, _metric_rows(result)))
    if result.differences:
        parts.append(html_lines(render_differences(result.differences, None)))
    return "\n".join(parts)


def diff_html(diff) -> str:
    """The two models' totals as a table, the verdict, and the rows that differ."""
    sides = [["A", diff.a.label, f"{diff.a.params['total']:,}", f"{diff.a.params['trainable']:,}", f"{diff.a.macs:,}",
              json.dumps(diff.a.output_shape)],
             ["B", diff.b.label, f"{diff.b.params['total']:,}", f"{diff.b.params['trainable']:,}", f"{diff.b.macs:,}",
              json.dumps(diff.b.output_shape)]]
    table = html_table(["", "model", "params", "trainable", "MACs", "output shape"], sides,
                       right=[False, False, True, True, True, False])
    return "\n".join([table, html_paragraph(f"Input {diff.input_size}, {diff.verdict()}."),
                      html_lines(render_differences(diff.differences, None))])
