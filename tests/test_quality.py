"""Validation rules and drift checks at stage boundaries."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.model import DriftSettings, QualitySettings, RuleSpec
from custseg.errors import ConfigError, DataQualityError
from custseg.quality import check_drift, check_rules
from custseg.runtime import JobContext, run_job, table_store
from custseg.tables.silver import CLEANING_LOG


def test_each_rule_type_counts_exactly_the_rows_that_break_it(spark: SparkSession) -> None:
    frame = spark.createDataFrame([
        ("a", 5, "x@y.com", "US", dt.date(1990, 1, 1)), ("a", -1, "bad", "USA", dt.date(1850, 1, 1)),
        ("b", None, None, "GB", None), ("c", 200, "z@y.org", "FR", dt.date(2001, 5, 5)),
    ], "id string, qty int, email string, country string, born date")
    other = spark.createDataFrame([("a",), ("b",)], "key string")
    rules = [
        RuleSpec(check="unique", columns=["id"]), RuleSpec(check="not_null", column="qty", max_share=0.3),
        RuleSpec(check="range", column="qty", min="0", max="100"),
        RuleSpec(check="regex", column="email", pattern=r"^[^@]+@[^@]+\.[a-z]+$", severity="warn"),
        RuleSpec(check="allowed", column="country", values=["US", "GB", "FR"]),
        RuleSpec(check="range", column="born", min="1900-01-01"),
        RuleSpec(check="references", columns=["id"], table="other", to=["key"]),
    ]
    results = {r.check_name: r for r in check_rules("t", frame, 4, rules, lambda name: other)}
    counts = {name: r.violations for name, r in results.items()}
    assert counts == {"unique(id)": 2, "not_null(qty)": 1, "range(qty)": 2, "regex(email)": 1, "allowed(country)": 1,
                      "range(born)": 1, "references(id -> other)": 1}
    assert results["not_null(qty)"].passed and not results["range(qty)"].passed
    assert results["regex(email)"].severity == "warn" and not results["regex(email)"].failed_error
    assert results["references(id -> other)"].message == (
        "t: FAILED: 1 of 4 rows (25.000%) break references(id -> other); allowed 0.000%")


def test_an_error_rule_stops_the_job_and_publishes_nothing(spark: SparkSession, config: Config) -> None:
    config = config.with_overrides(rules={"cleaning_log": [
        RuleSpec(check="range", column="rows_affected", min="0", severity="error"),
        RuleSpec(check="allowed", column="table_name", values=["customer_records"], severity="warn"),
    ]})

    def job(ctx: JobContext) -> None:
        ctx.write("cleaning_log", spark.createDataFrame([(ctx.run_id, "customer_records", "c", "r", -3, 1),
                                                         (ctx.run_id, "other", "c", "r", 1, 1)], CLEANING_LOG.schema))

    with pytest.raises(DataQualityError,
                       match=r"1 validation check\(s\) of severity error failed, nothing published:\n"
                             r"  - cleaning_log: FAILED: 1 of 2 rows \(50.000%\) break range\(rows_affected\)"):
        run_job(spark, config, "bad", job)
    store, catalog = table_store(spark, config), Catalog(config)
    assert not store.exists(catalog.path("cleaning_log")) and not store.exists(catalog.path("validation_results"))


def test_warnings_are_recorded_with_the_outputs(spark: SparkSession, config: Config) -> None:
    config = config.with_overrides(rules={"cleaning_log": [
        RuleSpec(check="allowed", column="table_name", values=["customer_records"], severity="warn", max_share=0.1)]})
    result = run_job(spark, config, "warned", lambda ctx: ctx.write("cleaning_log", spark.createDataFrame(
        [(ctx.run_id, "other", "c", "r", 1, 1)], CLEANING_LOG.schema)))
    rows = table_store(spark, config).read(Catalog(config).path("validation_results")).collect()
    assert [(r.job, r.table_name, r.check_name, r.violations, r.passed, r.severity) for r in rows] == [
        ("warned", "cleaning_log", "allowed(table_name)", 1, False, "warn")]
    assert result.metrics["checks_passed"] == "0/1"


def test_drift_against_the_previous_version(spark: SparkSession, config: Config) -> None:
    drift = DriftSettings(max_row_change=0.5, max_null_share_change=0.2, max_distinct_change=0.5,
                          distinct_columns={"customer_segments": ["segment_id"]})
    config = config.with_overrides(quality=dataclasses.replace(config.quality, drift=drift), rules={})
    schema = Catalog(config).spec("customer_segments").schema

    def rows(count: int, segments: int, null_region: bool) -> list[tuple[object, ...]]:
        return [(f"c{i}", dt.date(2026, 1, 1), i % segments, "s", 0, "p", "active", "loyal", "25-34",
                 "unknown" if null_region and i % 2 else "US", "m") for i in range(count)]

    run_job(spark, config, "first",
            lambda ctx: ctx.write("customer_segments", spark.createDataFrame(rows(100, 5, False), schema)))
    run_job(spark, config, "second",
            lambda ctx: ctx.write("customer_segments", spark.createDataFrame(rows(40, 2, False), schema)))
    results = table_store(spark, config).read(Catalog(config).path("validation_results")).collect()
    by_check = {r.check_name: r for r in results}
    assert by_check["drift_rows"].share == pytest.approx(0.6) and not by_check["drift_rows"].passed
    assert "rows 100 -> 40" in by_check["drift_rows"].message
    distinct = by_check["drift_distinct(segment_id)"]
    assert not distinct.passed and "5 -> 2" in distinct.message
    assert by_check["drift_null_share(customer_id)"].passed


def test_drift_null_shares_come_from_the_log(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("a", None), ("b", 1)], "k string, v int")
    results = check_drift("t", 2, {"v": 1}, frame, 4, {"v": 0}, frame, DriftSettings(max_null_share_change=0.1))
    (nulls,) = [r for r in results if r.check_type == "drift_null_share"]
    assert nulls.share == pytest.approx(0.5) and not nulls.passed and nulls.severity == "warn"


def test_rules_must_name_declared_tables_and_columns(base_config: Config) -> None:
    from custseg.config import load_config

    with pytest.raises(ConfigError, match=r"rules.orders_clean\[0\]: unknown column\(s\) \['order_no'\]"):
        load_config(base_config.project_dir / "conf", "local",
                    ["rules.orders_clean=[{check: unique, columns: [order_no]}]"])
    with pytest.raises(ConfigError, match=r"rules.nowhere: unknown table"):
        load_config(base_config.project_dir / "conf", "local", ["rules.nowhere=[{check: not_null, column: x}]"])
    with pytest.raises(ConfigError, match=r"rules.orders_clean\[0\]: a regex rule needs `pattern`"):
        load_config(base_config.project_dir / "conf", "local",
                    ["rules.orders_clean=[{check: regex, column: order_id}]"])
    assert isinstance(QualitySettings().drift, DriftSettings)
