"""Segment migration between versions of customer_segments, following merged ids."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.errors import InputDataError
from custseg.governance.lineage import lineage_tree
from custseg.jobs import segments_diff
from custseg.runtime import run_job, table_store
from custseg.segment.migration import migration_matrix, render

NAMES = {0: "High-value loyal", 1: "Churned", 2: "New customers"}


def _segments(spark: SparkSession, assignment: dict[str, int]):  # type: ignore[no-untyped-def]
    rows = [(c, dt.date(2025, 1, 1), s, NAMES[s], 0, NAMES[0], "active", "champions", "25-34", "GB", "segment-x")
            for c, s in assignment.items()]
    return spark.createDataFrame(rows, "customer_id string, as_of_date date, segment_id int, segment_name string, "
                                       "parent_segment_id int, parent_segment_name string, lifecycle_stage string, "
                                       "rfm_segment string, age_band string, region string, model_run_id string")


def _id_map(spark: SparkSession):  # type: ignore[no-untyped-def]
    return spark.createDataFrame([("a", "a", "active"), ("b", "b", "active"), ("c", "c", "active"),
                                  ("d", "e", "merged"), ("e", "e", "active"), ("f", "f", "active")],
                                 "customer_id string, current_customer_id string, status string")


BEFORE = {"a": 0, "b": 0, "c": 1, "d": 1, "g": 2}
AFTER = {"a": 0, "b": 1, "c": 1, "e": 1, "f": 2}


def test_the_matrix_counts_moves_arrivals_departures_and_follows_merges(spark: SparkSession) -> None:
    matrix = migration_matrix(_segments(spark, BEFORE), _segments(spark, AFTER), _id_map(spark))
    found = {(r.from_name, r.to_name): (r.customers, round(r.share_of_from, 6)) for r in matrix.collect()}
    assert found == {
        ("High-value loyal", "High-value loyal"): (1, 0.5),     # a stayed
        ("High-value loyal", "Churned"): (1, 0.5),              # b moved
        ("Churned", "Churned"): (2, 1.0),                       # c stayed; d was merged into e, which stayed
        ("New customers", "(absent)"): (1, 1.0),                # g left
        ("(absent)", "New customers"): (1, 1.0),                # f arrived
    }
    lines = render([r.asDict() for r in matrix.collect()]).splitlines()
    cells = {line.split(" | ")[0].strip(): [c.strip() for c in line.split(" | ")[1:]] for line in lines[1:]}
    header = [c.strip() for c in lines[0].split(" | ")[1:]]
    assert header == ["(absent)", "0: High-value loyal", "1: Churned", "2: New customers"]
    assert cells == {"(absent)": ["0", "0", "0", "1"], "0: High-value loyal": ["0", "1", "1", "0"],
                     "1: Churned": ["0", "0", "2", "0"], "2: New customers": ["1", "0", "0", "0"]}


def test_segments_diff_reads_two_versions_and_appends_the_matrix(spark: SparkSession, config: Config) -> None:
    config = config.with_overrides(rules={})  # no customer_features here for the reference checks
    for assignment in (BEFORE, AFTER):
        run_job(spark, config, "segment", lambda ctx, a=assignment: ctx.write("customer_segments", _segments(spark, a)))
    result, rows = segments_diff.run(spark, config, 0, 1)
    assert result.metrics["customers_moved"] == "5"    # b moved; g and d left; f and e arrived (no id map here)
    assert result.input_versions == {"customer_segments@0": 0, "customer_segments@1": 1}
    inputs = lineage_tree(spark, config, "segment_migrations")["inputs"]
    assert [(node["table"], node["version"]) for node in inputs] == [("customer_segments", 0), ("customer_segments", 1)]
    table = table_store(spark, config).read(Catalog(config).path("segment_migrations"))
    assert table.count() == len(rows) == 7
    assert {r.run_id for r in table.collect()} == {result.run_id}
    with pytest.raises(InputDataError, match="customer_segments has versions 0 to 1, not 5"):
        segments_diff.run(spark, config, 0, 5)


