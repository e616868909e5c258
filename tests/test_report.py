"""The segment report and the audit report as a browser shows them: no console errors, nothing wider
than a 1400-pixel window, and every figure drawn equal to the table it came from."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.errors import InputDataError
from custseg.jobs import report
from custseg.report import ReportData, Segment, render
from custseg.report.act import ActResults
from custseg.runtime import JobResult, table_store
from tests import browser

Pipeline = tuple[Config, list[JobResult]]
needs_chromium = pytest.mark.skipif(not browser.available(), reason="chromium is missing: run `make chromium`")


def _marks(page: browser.Rendered, figure: str, key: str) -> dict[str, float]:
    return {m["data"][key]: float(m["data"]["value"]) for m in page.marks if m["figure"] == figure}


def _result(results: list[JobResult], job: str) -> JobResult:
    return next(r for r in results if r.job == job)


@needs_chromium
def test_segment_report_shows_the_tables_in_chromium(spark: SparkSession, pipeline: Pipeline, tmp_path: Path) -> None:
    config, results = pipeline
    path = Path(_result(results, "report").metrics["report"])
    assert (path.parent / "latest.html").read_text() == path.read_text()
    assert 'id="models"' not in path.read_text()  # neither propensity nor recommend ran
    page = browser.render(path, tmp_path / "report.png")
    assert page.errors == []
    assert page.scroll_width <= 1400 and max(page.table_right_edges) <= 1400
    assert page.screenshot.stat().st_size > 20_000  # a blank page compresses to a few hundred bytes
    assert all(f["width"] > 0 and f["height"] > 0 for f in page.figures) and len(page.figures) >= 6
    assert all(m["visible"] for m in page.marks if m["figure"])
    store, catalog = table_store(spark, config), Catalog(config)

    def table(name: str):  # type: ignore[no-untyped-def]
        return store.read(catalog.path(name))

    sizes = {r["segment_name"]: float(r["customers"]) for r in table("segment_profiles").collect()}
    assert _marks(page, "segment_customers", "label") == sizes
    segment_run = _result(results, "segment").run_id
    k_rows = table("segmentation_runs").filter(f"run_id = '{segment_run}'").collect()
    drawn_k = {float(k): v for k, v in _marks(page, "silhouette_per_k", "x").items()}
    assert drawn_k == {float(r["k"]): r["silhouette"] for r in k_rows} and len(drawn_k) == len(k_rows) > 1
    ingest_run = _result(results, "ingest").run_id
    accounting_rows = table("ingest_accounting").filter(f"run_id = '{ingest_run}'").collect()
    accounting = {r["source"]: r["rows_read"] for r in accounting_rows}
    read = {m["data"]["value"] for m in page.marks if m["data"].get("metric") == "rows_read"}
    assert read == {str(v) for v in accounting.values()}
    clusters = (table("identity_crosswalk").groupBy("customer_id").agg({"cluster_size": "max"})
                .groupBy("max(cluster_size)").count().collect())
    assert sorted(_marks(page, "cluster_sizes", "label").values()) == sorted(float(r["count"]) for r in clusters)
    drawn = {(m["data"]["row"], m["data"]["col"]): float(m["data"]["value"]) for m in page.marks
             if m["figure"] == "profile_log2_lift"}
    lifts = {(r["segment_name"], s["feature"]): math.log2(s["lift"]) for r in table("segment_profiles").collect()
             for s in r["feature_stats"] if s["lift"]}
    assert drawn == pytest.approx(lifts) and {name for name, _ in drawn} == set(sizes)
    run = table("job_runs").filter("job = 'report'").first()
    read = {"segment_profiles", "customer_segments", "segmentation_runs", "ingest_accounting", "data_audit"}
    assert read <= set(run.input_versions)


@needs_chromium
def test_audit_report_fits_a_1400_pixel_window_and_skips_lineage(spark: SparkSession, pipeline: Pipeline,
                                                                  tmp_path: Path) -> None:
    config, results = pipeline
    page = browser.render(Path(_result(results, "audit").metrics["report"]), tmp_path / "audit.png")
    assert page.errors == []
    assert page.scroll_width <= 1400 and max(page.table_right_edges) <= 1400
    audited = table_store(spark, config).read(Catalog(config).path("data_audit"))
    assert audited.filter("column_name in ('source_file', 'source_line', 'ingest_run_id')").count() == 0
    assert audited.filter("table_name = 'orders' and column_name = 'order_id'").count() == 1
    histograms = {m["data"].get("lower") for m in page.marks if m["tag"] == "rect" and "lower" in m["data"]}
    assert histograms  # the data columns keep their histograms


@needs_chromium
def test_browser_check_catches_errors_and_overflow(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><html><body><table><tr><td style=\"white-space:nowrap\">"
                    + "/very/long/path" * 200 + "</td></tr></table><script>console.error('bad figure');missing()"
                    "</script></body></html>", encoding="utf-8")
    rendered = browser.render(page, tmp_path / "broken.png")
    assert "bad figure" in rendered.errors[0] and "missing is not defined" in rendered.errors[1]
    assert rendered.scroll_width > 1400 and max(rendered.table_right_edges) > 1400


def _data(migration: list[dict[str, object]], version: int) -> ReportData:
    segments = [Segment(1, "big spenders", "buyers", 30, 0.6, "loyal", {"monetary": 2.0}, {"monetary": 900.0}),
                Segment(2, "<dormant>", "buyers", 20, 0.4, "lapsed", {"monetary": 0.5}, {"monetary": None})]
    runs = [{"k": 2, "silhouette": 0.41, "cost": 100.0, "chosen": True, "stability_ari_mean": 0.9},
            {"k": 3, "silhouette": 0.35, "cost": 80.0, "chosen": False}]
    return ReportData("segment-r1", version, segments, runs, migration=migration,
                      migration_from=version - 1 if version else None)


def test_rendered_migration_and_profiles_equal_their_rows() -> None:
    keys = ("from_segment", "from_name", "to_segment", "to_name", "customers")
    migration = [dict(zip(keys, row, strict=True)) for row in (
        (1, "big spenders", 1, "big spenders", 25), (1, "big spenders", 2, "<dormant>", 5),
        (None, "(absent)", 2, "<dormant>", 20))]
    page = render("report-1", _data(migration, 1))
    assert 'data-row="1: big spenders" data-col="2: &lt;dormant&gt;" data-value="5.0"' in page
    assert 'data-row="(absent)" data-col="2: &lt;dormant&gt;" data-value="20.0"' in page
    assert 'data-metric="moved" data-value="25"' in page  # 5 changed segment, 20 arrived
    assert 'data-row="big spenders" data-col="monetary" data-value="1.0"' in page  # log2 of lift 2
    assert 'data-row="&lt;dormant&gt;" data-col="monetary" data-value="-1.0"' in page
    assert "<dormant>" not in page and "<script" not in page
    first = render("report-1", _data([], 0))
    assert "first version of customer_segments" in first and 'data-metric="migration_customers"' not in first


def _model(target: str, segment_id: int | None, model: str, roc_auc: float | None) -> dict[str, object]:
    return {"target": target, "segment_id": segment_id, "model": model, "chosen": model != "recency_baseline",
            "reason": "why", "rows": 100, "positives": 10, "roc_auc": roc_auc, "pr_auc": roc_auc,
            "top_decile_lift": 2.0, "top_decile_capture": 0.2}


def _evaluation(method: str, segment_id: int | None, ndcg: float) -> dict[str, object]:
    return {"method": method, "segment_id": segment_id, "customers": 40, "precision_at_k": ndcg / 2,
            "recall_at_k": ndcg * 2, "ndcg_at_k": ndcg, "coverage": 0.5 if method == "hybrid" else 0.02, "k": 10,
            "holdout_start": "2026-06-01"}


def test_rendered_models_and_recommendations_equal_their_rows() -> None:
    data = _data([], 0)
    data.act = ActResults("propensity-1", [
        _model("churn", None, "chosen", 0.93), _model("churn", None, "recency_baseline", 0.81),
        _model("churn", 1, "segment", 0.9), _model("churn", 1, "recency_baseline", 0.7),
        _model("churn", 2, "global", None), _model("churn", 2, "recency_baseline", None),
        _model("churn", 7, "global", 0.6), _model("churn", 7, "recency_baseline", 0.5),
    ], "recommend-1", [_evaluation("hybrid", None, 0.05), _evaluation("popularity", None, 0.02),
                       _evaluation("hybrid", 2, 0.04), _evaluation("popularity", 2, 0.03)])
    page = render("report-1", data)
    assert 'href="#models"' in page and 'data-metric="roc_auc_churn"' in page
    assert 'data-row="all customers" data-col="chosen" data-value="0.93"' in page
    assert 'data-row="1: big spenders" data-col="recency_baseline" data-value="0.7"' in page
    assert 'data-row="7" data-col="chosen" data-value="0.6"' in page  # a segment the latest run does not have
    assert 'data-row="2: &lt;dormant&gt;" data-col="chosen"' not in page and "chosen: n/a" in page  # one class
    assert 'data-row="precision@10" data-col="hybrid" data-value="0.025"' in page
    assert 'data-row="coverage" data-col="popularity" data-value="0.02"' in page
    assert 'data-row="2: &lt;dormant&gt;" data-col="popularity" data-value="0.03"' in page
    assert len(re.findall(r'<rect class="bar" data-row', page)) == 6 + 8 + 4
    without = render("report-1", _data([], 0))
    assert 'id="models"' not in without and "#models" not in without and "propensity" not in without


def test_act_rows_of_another_segmentation_run_keep_bare_segment_ids() -> None:
    """Propensity chose its models for an earlier segmentation run: its segment ids are that run's
    segments, so the names of the latest run must not be put on them; recommend used the latest."""
    data = _data([], 0)
    models = [_model("churn", 1, "segment", 0.9), _model("churn", 1, "recency_baseline", 0.7)]
    evaluation = [_evaluation("hybrid", 1, 0.04), _evaluation("popularity", 1, 0.03)]
    data.act = ActResults("propensity-1", models, "recommend-1", evaluation,
                          {"propensity-1": "segment-r0", "recommend-1": data.segment_run_id})
    page = render("report-1", data)
    assert 'data-row="1" data-col="chosen" data-value="0.9"' in page
    assert 'data-row="1: big spenders" data-col="chosen"' not in page
    assert 'data-row="1: big spenders" data-col="hybrid" data-value="0.04"' in page


def test_report_without_a_segment_run_names_the_missing_table(spark: SparkSession, config: Config) -> None:
    with pytest.raises(InputDataError, match="segment_profiles.*custseg segment"):
        report.run(spark, config)
