"""The audit as one self-contained HTML page: summary per table, a null-share chart, a column
table and a histogram per numeric column. Charts are inline SVG (no scripts, no network), and
every figure carries its raw value in a data- attribute so the page can be checked by a parser."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from custseg.audit.profile import LINEAGE_COLUMNS, ColumnProfile

SHOWN_CHARS = 40  # longer text values are cut in the page; the full value stays in data-value and title

# Long values (file paths, free text) wrap inside a bounded cell, and a table wider than the
# page scrolls inside its own box, so no value can push the page wider than the window.
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;padding:0 1em;color:#222;max-width:1320px}
h1{margin-bottom:0}h2{margin-top:2.2em;border-bottom:1px solid #ccc}.scroll{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{white-space:normal}td.text,td.long{white-space:normal;overflow-wrap:anywhere}td.long{max-width:12em}
td.text{max-width:20em;min-width:10em}td:first-child{white-space:normal;overflow-wrap:break-word;max-width:14em}
td:first-child,th:first-child,td.text,th.text{text-align:left}.warn{color:#b00020;font-weight:600}
figure{display:inline-block;margin:0.5em 1em 0.5em 0;vertical-align:top}figcaption{font-size:12px;color:#555}
nav a{margin-right:1em}.muted{color:#777}
"""


@dataclass
class TableAudit:
    name: str
    layer: str
    version: int
    rows: int
    duplicate_key_rows: int | None
    primary_key: tuple[str, ...]
    rule_violations: int
    columns: list[ColumnProfile]


def render(run_id: str, audits: list[TableAudit]) -> str:
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>custseg data audit</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Data audit</h1><p class=\"muted\">run <span data-metric=\"run_id\">{_e(run_id)}</span> · {generated}"
        f" · lineage columns ({', '.join(sorted(LINEAGE_COLUMNS))}) are not profiled</p>",
        "<nav>" + "".join(f"<a href=\"#table-{_e(a.name)}\">{_e(a.name)}</a>" for a in audits) + "</nav>",
    ]
    parts += [_table_section(a) for a in audits]
    parts.append("</body></html>")
    return "\n".join(parts)


def _table_section(audit: TableAudit) -> str:
    duplicates = "-" if audit.duplicate_key_rows is None else f"{audit.duplicate_key_rows:,}"
    duplicate_class = " class=\"warn\"" if audit.duplicate_key_rows else ""
    lines = [
        f"<section id=\"table-{_e(audit.name)}\" data-table=\"{_e(audit.name)}\">",
        f"<h2>{_e(audit.layer)}/{_e(audit.name)}</h2>",
        f"<p><span data-metric=\"rows\" data-value=\"{audit.rows}\">{audit.rows:,}</span> rows · version "
        f"<span data-metric=\"version\" data-value=\"{audit.version}\">{audit.version}</span> · duplicate key rows"
        f" ({_e(', '.join(audit.primary_key) or 'no key')}) <span{duplicate_class} data-metric=\"duplicate_key_rows\" "
        f"data-value=\"{audit.duplicate_key_rows if audit.duplicate_key_rows is not None else ''}\">{duplicates}</span>"
        f" · rule violations <span data-metric=\"rule_violations\" data-value=\"{audit.rule_violations}\">"
        f"{audit.rule_violations:,}</span></p>",
        _null_chart(audit),
        _column_table(audit),
    ]
    lines += [_histogram(c) for c in audit.columns if c.histogram]
    lines.append("</section>")
    return "\n".join(lines)


def _null_chart(audit: TableAudit) -> str:
    width, bar_height, label = 560, 16, 170
    height = bar_height * len(audit.columns) + 24
    bars = []
    for index, column in enumerate(audit.columns):
        share = column.nulls / audit.rows if audit.rows else 0.0
        y = index * bar_height
        bars.append(
            f"<text x=\"{label - 6}\" y=\"{y + 12}\" text-anchor=\"end\" font-size=\"11\">"
            f"{_e(_cut(column.name)[:28])}</text>"
            f"<rect class=\"null-bar\" data-column=\"{_e(column.name)}\" data-value=\"{share:.6f}\" x=\"{label}\" "
            f"y=\"{y + 2}\" width=\"{share * (width - label - 60):.1f}\" height=\"{bar_height - 4}\" fill=\"#d9534f\"/>"
            f"<text x=\"{label + share * (width - label - 60) + 4:.1f}\" y=\"{y + 12}\" font-size=\"11\">"
            f"{100 * share:.1f}%</text>"
        )
    return (f"<figure><svg width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"null share per column\">"
            + "".join(bars) + "</svg><figcaption>Null share per column</figcaption></figure>")


def _column_table(audit: TableAudit) -> str:
    header = ("<tr><th>column</th><th class=\"text\">type</th><th>nulls</th><th>null %</th><th>distinct≈</th>"
              "<th>min</th><th>max</th><th>mean</th><th>median</th><th>IQR outliers</th><th>z outliers</th>"
              "<th>rule violations</th><th class=\"text\">top values</th></tr>")
    rows = [header]
    for c in audit.columns:
        share = c.nulls / audit.rows if audit.rows else 0.0
        top = ", ".join(f"{_e(_cut(v))} ({n:,})" for v, n in c.top_values)
        rows.append(
            f"<tr data-column=\"{_e(c.name)}\"><td>{_e(c.name)}</td><td class=\"text\">{_e(c.data_type)}</td>"
            + _cell("nulls", c.nulls) + _cell("null_share", share, f"{100 * share:.1f}%")
            + _cell("approx_distinct", c.approx_distinct)
            + _cell("min", c.min_value, wrap=True) + _cell("max", c.max_value, wrap=True)
            + _cell("mean", c.mean) + _cell("median", c.quartiles[1] if c.quartiles else None)
            + _cell("iqr_outliers", c.iqr_outliers) + _cell("z_outliers", c.z_outliers)
            + _cell("rule_violations", c.rule_violations)
            + f"<td class=\"text\" data-metric=\"top_values\">{top}</td></tr>"
        )
    return "<div class=\"scroll\"><table>" + "".join(rows) + "</table></div>"


def _histogram(column: ColumnProfile) -> str:
    width, height = 260, 90
    peak = max(count for _, _, count in column.histogram) or 1
    step = width / len(column.histogram)
    bars = "".join(
        f"<rect class=\"bin\" data-lower=\"{low}\" data-upper=\"{high}\" data-value=\"{count}\" x=\"{i * step:.1f}\" "
        f"y=\"{height - height * count / peak:.1f}\" width=\"{max(step - 1, 1):.1f}\" "
        f"height=\"{height * count / peak:.1f}\" fill=\"#337ab7\"/>"
        for i, (low, high, count) in enumerate(column.histogram)
    )
    low, high = column.histogram[0][0], column.histogram[-1][1]
    return (f"<figure class=\"histogram\" data-column=\"{_e(column.name)}\"><svg width=\"{width}\" height=\"{height}\" "
            f"role=\"img\" aria-label=\"distribution of {_e(column.name)}\">{bars}</svg>"
            f"<figcaption>{_e(column.name)}: {_number(low)} to {_number(high)}</figcaption></figure>")


def _cell(metric: str, value: object, shown: str | None = None, wrap: bool = False) -> str:
    raw = "" if value is None else str(value)
    text = shown if shown is not None else ("-" if value is None else _number(value))
    title = f" title=\"{_e(text)}\"" if len(text) > SHOWN_CHARS else ""
    css = " class=\"long\"" if wrap else ""
    return f"<td data-metric=\"{metric}\" data-value=\"{_e(raw)}\"{title}{css}>{_e(_cut(text))}</td>"


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _number(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
