"""Tables as HTML for notebooks (``_repr_html_`` of summaries, verification results and diffs): every cell
escaped, so a layer or file name holding ``<`` or ``&`` shows as written. Private: a helper for every layer."""

from __future__ import annotations

from html import escape
from typing import Optional, Sequence


def html_table(headers: Sequence[str], rows: Sequence[Sequence[object]], caption: str = "",
               right: Optional[Sequence[bool]] = None) -> str:
    """``<table>`` of ``rows`` under ``headers``; ``right[i]`` right-aligns column ``i`` (numbers).

    >>> print(html_table(["name", "params"], [["a<b", "1,024"]], right=[False, True]))
    <table><thead><tr><th style="text-align:left">name</th><th style="text-align:right">params</th></tr></thead><tbody>
    <tr><td style="text-align:left">a&lt;b</td><td style="text-align:right">1,024</td></tr>
    </tbody></table>
    """
    align = [("right" if flag else "left") for flag in (right or [False] * len(headers))]
    head = "".join(f'<th style="text-align:{a}">{escape(str(h))}</th>' for h, a in zip(headers, align))
    body = "\n".join("<tr>" + "".join(f'<td style="text-align:{a}">{escape(_cell(v))}</td>'
                                      for v, a in zip(row, align)) + "</tr>" for row in rows)
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def html_lines(lines: Sequence[str]) -> str:
    """Lines of text as an HTML list, escaped."""
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>" if lines else ""


def html_paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _cell(value) -> str:
    return "" if value is None else str(value)
