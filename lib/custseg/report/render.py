"""Render a ``ReportData`` into one self-contained HTML page (jinja2 template, inline SVG charts)."""

from __future__ import annotations

import datetime as dt
import math
from importlib import resources
from typing import Any

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from custseg.report.act import ActResults, segment_names
from custseg.report.charts import bar_chart, grouped_bar_chart, heatmap, line_chart
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
ALL_CUSTOMERS = "all customers"
EVAL_MEASURES = ("precision_at_k", "recall_at_k", "ndcg_at_k", "coverage")
STABILITY_FIGURES = ("stability_ari_mean", "stability_ari_min", "holdout_ari", "archetype_ari", "parent_segments",
                     "parent_silhouette", "pca_components", "explained_variance")


def render(run_id: str, data: ReportData) -> str:
    """The report page for ``data``, written by report run ``run_id``."""
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["figure"] = _figure
    env.filters["ratio"] = lambda value: "-" if value is None else f"{value:.4f}"  # AUCs, precision, coverage
    template = resources.files("custseg.report").joinpath("templates").joinpath("segments.html.j2")
    source = template.read_text(encoding="utf-8")  # works from the --py-files zip as well
    chosen = next((k for k in data.k_search if k["chosen"]), None)
    features = sorted({f for s in data.segments for f in s.means})
    names = {s.segment_id: s.name for s in data.segments}
    model_names = segment_names(data.act, data.act.propensity_run_id, data.segment_run_id, names)
    eval_names = segment_names(data.act, data.act.recommend_run_id, data.segment_run_id, names)
    return env.from_string(source).render(
        act=data.act, model_rows=_model_rows(data.act, model_names),
        act_charts=_act_charts(data.act, model_names, eval_names),
        eval_rows=[{**r, "segment": segment_label(r["segment_id"], eval_names)} for r in data.act.evaluation],
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


def segment_label(segment_id: int | None, names: dict[int, str]) -> str:
    """How the act figures name a segment: "<id>: <name>", the bare id for a segment ``names`` does
    not hold (the act run used another segmentation run), "all customers" for the rows over every
    customer (a null id)."""
    if segment_id is None:
        return ALL_CUSTOMERS
    return f"{segment_id}: {names[segment_id]}" if segment_id in names else str(segment_id)


def eval_label(measure: str, k: int) -> str:
    """precision_at_k -> precision@10; coverage stays coverage."""
    return measure.replace("_at_k", f"@{k}")


def _model_rows(act: ActResults, names: dict[int, str]) -> list[dict[str, Any]]:
    """One row per target and segment: the chosen model's figures and the recency baseline's
    (``baseline_roc_auc``, ``baseline_pr_auc``); None where a row or a figure is missing."""
    keys = ("model", "rows", "positives", "roc_auc", "pr_auc", "top_decile_lift", "reason", "baseline_roc_auc",
            "baseline_pr_auc")
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in act.models:
        key = (r["target"], segment_label(r["segment_id"], names))
        entry = rows.setdefault(key, {"target": key[0], "segment": key[1], **dict.fromkeys(keys)})
        if r["model"] == "recency_baseline":
            entry.update(baseline_roc_auc=r["roc_auc"], baseline_pr_auc=r["pr_auc"])
        else:
            entry.update({k: r[k] for k in keys[:7]})
    return list(rows.values())


def _act_charts(act: ActResults, model_names: dict[int, str], eval_names: dict[int, str]) -> dict[str, Markup]:
    charts = {}
    for target in dict.fromkeys(r["target"] for r in act.models):
        rows = [r for r in act.models if r["target"] == target]
        auc = {(segment_label(r["segment_id"], model_names), "recency_baseline" if r["model"] == "recency_baseline"
                else "chosen"): r["roc_auc"] for r in rows if r["roc_auc"] is not None}
        groups = list(dict.fromkeys(segment_label(r["segment_id"], model_names) for r in rows))
        charts[f"auc_{target}"] = grouped_bar_chart(
            groups, ("chosen", "recency_baseline"), auc, f"roc_auc_{target}",
            f"{target}: test ROC-AUC of the model each segment chose against recency alone", peak=1.0)
    overall = [r for r in act.evaluation if r["segment_id"] is None]
    methods = list(dict.fromkeys(r["method"] for r in act.evaluation))
    charts["eval"] = grouped_bar_chart(
        [eval_label(m, overall[0]["k"]) for m in EVAL_MEASURES] if overall else [], methods,
        {(eval_label(m, r["k"]), r["method"]): r[m] for r in overall for m in EVAL_MEASURES},
        "recommendation_eval", "Recommendations on the holdout, all customers: the hybrid against popularity")
    charts["ndcg"] = grouped_bar_chart(
        list(dict.fromkeys(segment_label(r["segment_id"], eval_names) for r in act.evaluation)), methods,
        {(segment_label(r["segment_id"], eval_names), r["method"]): r["ndcg_at_k"] for r in act.evaluation},
        "ndcg_per_segment", "NDCG of the top k per segment: the hybrid against popularity")
    return charts


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
