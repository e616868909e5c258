"""Render a ``ReportData`` into one self-contained HTML page (jinja2 template, inline SVG charts)."""

from __future__ import annotations

import datetime as dt
import math
from importlib import resources
from typing import Any

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from custseg.report.charts import bar_chart, heatmap, line_chart
from custseg.report.data import RESOLUTION_FIGURES, ReportData

# Long values (file paths, reject reasons) wrap or scroll inside their box instead of widening the page.
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;color:#222;max-width:1200px;padding:0 1em}
h1{margin-bottom:0}h2{margin-top:2em;border-bottom:1px solid #ccc}
nav a{margin-right:1em}.muted{color:#777}.warn{color:#b00020;font-weight:600}
.scroll{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;overflow-wrap:anywhere;max-width:28em}
td:first-child,th:first-child,td.text,th.text{text-align:left}
figure{display:inline-block;margin:0.5em 1.5em 0.5em 0;vertical-align:top;max-width:100%;overflow-x:auto}
figcaption{font-size:12px;color:#555}svg{max-width:none}
"""
STABILITY_FIGURES = ("stability_ari_mean", "stability_ari_min", "holdout_ari", "archetype_ari", "parent_segments",
                     "parent_silhouette", "pca_components", "explained_variance")


def render(run_id: str, data: ReportData) -> str:
    """The report page for ``data``, written by report run ``run_id``."""
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["figure"] = _figure
    template = resources.files("custseg.report").joinpath("templates").joinpath("segments.html.j2")
    source = template.read_text(encoding="utf-8")  # works from the --py-files zip as well
    chosen = next((k for k in data.k_search if k["chosen"]), None)
    features = sorted({f for s in data.segments for f in s.means})
    return env.from_string(source).render(
        run_id=run_id, data=data, style=Markup(STYLE), charts=_charts(data, chosen), chosen=chosen,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), features=features,
        records=int(data.resolution.get("records", sum(size * n for size, n in data.cluster_sizes))),
        customers=sum(n for _, n in data.cluster_sizes),
        resolution_figures=[(n, data.resolution[n]) for n in RESOLUTION_FIGURES if n in data.resolution],
        stability=[(n, chosen[n]) for n in STABILITY_FIGURES if chosen and chosen.get(n) is not None],
        moved=sum(m["customers"] for m in data.migration if m["from_name"] != m["to_name"]
                  or m["from_segment"] != m["to_segment"]),
    )


def _charts(data: ReportData, chosen: dict[str, Any] | None) -> dict[str, Markup]:
    names = [s.name for s in data.segments]
    lifts = {(s.name, f): math.log2(lift) for s in data.segments for f, lift in s.lifts.items() if lift > 0}
    features = sorted({f for _, f in lifts})
    k = float(chosen["k"]) if chosen else None
    return {
        "rejects": bar_chart([(f"{source}: {reason}", n) for source, reason, n in data.rejects], "rejects_by_reason",
                             "Rejected rows by source and reason (latest ingest run)"),
        "nulls": bar_chart([(f"{t}.{c}", share) for t, c, share in data.audit_nulls], "null_share",
                           "Columns with the most missing values (share of rows)", fmt=lambda v: f"{100 * v:.1f}%"),
        "clusters": bar_chart([(f"{size} record{'s' if size > 1 else ''}", n) for size, n in data.cluster_sizes],
                              "cluster_sizes", "Customers by number of source records merged"),
        "sizes": bar_chart([(s.name, s.customers) for s in data.segments], "segment_customers",
                           "Customers per segment"),
        "profiles": heatmap(names, features, lifts, "profile_log2_lift",
                            "Profile: log2 of segment mean / base mean per feature (red above the base, blue below)",
                            shade=lambda v: v / 2),
        "silhouette": line_chart([(r["k"], r["silhouette"]) for r in data.k_search], "silhouette_per_k",
                                 "Silhouette per k (the chosen k larger)", highlight=k),
        "cost": line_chart([(r["k"], r["cost"]) for r in data.k_search], "cost_per_k",
                           "Cost (within-cluster sum of squares) per k", highlight=k, fmt=lambda v: f"{v:,.0f}"),
        "migration": _migration_chart(data),
    }


def _migration_chart(data: ReportData) -> Markup:
    def label(segment: object, name: object) -> str:
        return str(name) if segment is None else f"{segment}: {name}"

    cells = {(label(m["from_segment"], m["from_name"]), label(m["to_segment"], m["to_name"])): float(m["customers"])
             for m in data.migration}
    rows, cols = sorted({r for r, _ in cells}), sorted({c for _, c in cells})
    peak = max(cells.values(), default=1.0)
    return heatmap(rows, cols, cells, "migration_customers", "Customers moving from segment (row) to segment (column)",
                   fmt=lambda v: f"{v:,.0f}", shade=lambda v: math.sqrt(v / peak))


def _figure(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)
