"""The whole pipeline in-process on a small sample: outputs, run log, summary, re-runs."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg import jobs, summary
from custseg.bench import RESOLVE_FIGURES, resolve_quality
from custseg.catalog import Catalog
from custseg.runtime import table_store
from tests.conftest import config_at
from tests.readers import duckdb_connection


def test_every_stage_succeeds_under_one_parent_run(spark: SparkSession, pipeline) -> None:  # type: ignore[no-untyped-def]
    config, results = pipeline
    assert [r.job for r in results] == [
        "generate", "ingest", "clean", "resolve", "features", "segment", "audit", "report"]
    runs = table_store(spark, config).read(Catalog(config).path("job_runs")).collect()
    assert sorted((r.job, r.status) for r in runs) == sorted((j, "succeeded") for j in jobs.PIPELINE)
    assert jobs.PIPELINE[-2:] == ("audit", "report")  # the report shows this run's audit
    assert len({r.parent_run_id for r in runs}) == 1
    by_job = {r.job: r for r in runs}
    assert by_job["features"].input_versions == {
        "identity_crosswalk": 0, "orders_clean": 0, "events_clean": 0, "customer_master": 0, "order_lines_clean": 0}
    assert by_job["segment"].rows_out["customer_segments"] == by_job["features"].rows_out["customer_features"]


def test_resolution_against_ground_truth(spark: SparkSession, pipeline) -> None:  # type: ignore[no-untyped-def]
    config, results = pipeline
    store, catalog = table_store(spark, config), Catalog(config)
    joined = store.read(catalog.path("identity_crosswalk")).join(store.read(catalog.path("truth_records")),
                                                                 ["source", "record_id"])
    rows = joined.select("customer_id", "person_id", "source", "record_id").collect()  # about 6,300 rows

    def pairs(key: str) -> set[tuple[str, str]]:
        groups: dict[object, list[str]] = {}
        for row in rows:
            groups.setdefault(row[key], []).append(f"{row.source}:{row.record_id}")
        return {pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)}

    predicted, true = pairs("customer_id"), pairs("person_id")
    precision, recall = len(predicted & true) / len(predicted), len(predicted & true) / len(true)
    metrics = next(r for r in results if r.job == "resolve").metrics
    assert float(metrics["pairwise_precision"]) == pytest.approx(precision, abs=1e-4)  # an independent count
    assert float(metrics["pairwise_recall"]) == pytest.approx(recall, abs=1e-4)
    # The targets with default settings, on generated data with 30% duplicated persons:
    assert 2 * precision * recall / (precision + recall) >= 0.99
    assert float(metrics["blocking_pair_completeness"]) >= 0.995
    assert float(metrics["pairs_per_record"]) < 20 and float(metrics["reduction_ratio"]) > 0.99
    # The benchmark measures quality from the written tables, outside the timed run: same figures.
    from_tables = resolve_quality(spark, config)
    for figure in RESOLVE_FIGURES:
        assert from_tables[figure] == pytest.approx(float(metrics[figure]), abs=1e-4), figure  # metrics are rounded


def test_segments_are_named_and_cover_every_customer(spark: SparkSession, pipeline) -> None:  # type: ignore[no-untyped-def]
    config, results = pipeline
    connection = duckdb_connection()
    try:
        gold = Path(config.warehouse_dir) / "gold"
        segments = connection.execute(
            "SELECT count(*), count(DISTINCT segment_id), min(segment_name) IS NOT NULL "
            f"FROM delta_scan('{gold}/customer_segments')"
        ).fetchone()
        customers = connection.execute(f"SELECT count(*) FROM delta_scan('{gold}/customer_master')").fetchone()
        profiles = connection.execute(
            f"SELECT sum(share), count(*) FROM delta_scan('{gold}/segment_profiles')").fetchone()
    finally:
        connection.close()
    assert segments[0] == customers[0] and segments[2]
    assert 3 <= segments[1] <= 10 and profiles[1] == segments[1]
    assert profiles[0] == pytest.approx(1.0)
    segment = next(r for r in results if r.job == "segment")
    assert int(segment.metrics["k"]) == segments[1]
    # Generated data, default segment settings: the segments recover the planted archetypes.
    assert float(segment.metrics["archetype_ari"]) >= 0.8
    assert -1 <= float(segment.metrics["archetype_silhouette"]) <= 1


def test_summary_reports_stages_accounting_segments_and_tables(spark: SparkSession, pipeline) -> None:  # type: ignore[no-untyped-def]
    config, results = pipeline
    text = summary.render(spark, config, results)
    for section in ("8 job(s) succeeded", "Rows per stage", "Row accounting per source", "Identity resolution",
                    "pairwise F1", "Segments (k=",
                    "Data quality", "validation and drift checks passed", "audit of 11 tables", ".html",
                    "Delta tables written", "gold/customer_segments", "Where to look next"):
        assert section in text, section
    report = next(r for r in results if r.job == "report").metrics["report"]
    assert report.endswith(".html") and report in text and "reports/segments/" in report
    assert text.splitlines()[-1].lstrip().startswith("make notebook")
    for source in config.sources:
        assert f"  {source} " in text


def test_validation_and_audit_ran_on_every_stage(spark: SparkSession, pipeline) -> None:  # type: ignore[no-untyped-def]
    config, results = pipeline
    store, catalog = table_store(spark, config), Catalog(config)
    checks = store.read(catalog.path("validation_results")).collect()
    checked_tables = {r.table_name for r in checks}
    assert {"customer_records", "orders_clean", "order_lines_clean", "events_clean", "identity_crosswalk",
            "customer_features", "customer_segments"} <= checked_tables
    assert not [r.message for r in checks if r.severity == "error" and not r.passed]
    audited = {r.table_name for r in store.read(catalog.path("data_audit")).filter("column_name = '*'").collect()}
    assert audited == set(config.quality.audit_tables)
    assert Path(next(r for r in results if r.job == "audit").metrics["report"]).is_file()


def test_rerun_makes_a_new_version_and_time_travel_sees_the_old_one(  # type: ignore[no-untyped-def]
        spark: SparkSession, pipeline, tmp_path: Path) -> None:
    import shutil

    shared, _ = pipeline
    shutil.copytree(shared.root_dir, tmp_path / "root")  # the shared run's tables stay as they are
    config = config_at(shared, tmp_path / "root")
    store, path = table_store(spark, config), Catalog(config).path("customer_features")
    first_as_of = store.read(path).first().as_of_date
    earlier = first_as_of.replace(day=1)
    rerun = config.with_overrides(features=dataclasses.replace(config.features, as_of=earlier))
    jobs.run("features", spark, rerun)
    assert store.version(path) == 1
    assert store.read(path).first().as_of_date == earlier
    assert store.read(path, version=0).first().as_of_date == first_as_of
    assert store.history(path)[0].input_versions["identity_crosswalk"] == 0
