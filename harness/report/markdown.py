"""The report's simple Markdown (headings, lists, tables, images, **bold**, `code`) and its
self-contained HTML rendering (figures embedded as data URLs)."""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

import pandas as pd


def _inline(text: str) -> str:
    """``**bold**`` to <strong>, backticks dropped (text already HTML-escaped)."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text).replace("`", "")


def _cell(text: str) -> str:
    """A table cell: numbers right-aligned, text left-aligned."""
    try:
        float(text)
        return f"<td class='n'>{text}</td>"
    except ValueError:
        return f"<td>{_inline(text)}</td>"


def md_table(frame: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    """A Markdown table of ``frame`` (floats through ``floatfmt``, NaN as "—")."""

    def fmt(v):
        if isinstance(v, float):
            return "—" if math.isnan(v) else floatfmt.format(v)
        return str(v)

    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def to_html(markdown: str, base: Path) -> str:
    """A self-contained HTML page from the report's simple Markdown (headings, lists, tables, images)."""
    out, table_rows = [], []

    def flush_table():
        if table_rows:
            head, *body = table_rows
            out.append("<div class='wide'><table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head)
                       + "</tr></thead><tbody>" + "".join("<tr>" + "".join(_cell(c) for c in r)
                                                          + "</tr>" for r in body) + "</tbody></table></div>")
            table_rows.clear()

    in_list = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not line.startswith("|---"):
                table_rows.append([html.escape(c.strip()) for c in line.strip("|").split("|")])
            continue
        flush_table()
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_inline(html.escape(line[2:]))}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            data = base64.b64encode((base / src.rstrip(")")).read_bytes()).decode()
            out.append(f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>')
        elif line.strip():
            out.append(f"<p>{_inline(html.escape(line))}</p>")
    flush_table()
    if in_list:
        out.append("</ul>")
    style = ("body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;"
             "text-align:left}td.n{text-align:right}th{background:#f3f3f3}img{max-width:100%;height:auto}"
             ".wide{overflow-x:auto;max-width:100%}"
             "p,li,td{overflow-wrap:anywhere}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>report</title><style>{style}</style></head><body>{''.join(out)}</body></html>\n"
