"""Stable customer ids: carry-over, merges, splits, deletions, and the id map across runs."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import DataFrame, SparkSession

from custseg.resolve.stable_ids import assign_ids, follow_ids, id_map, identity_changes

T0, T1, NOW = dt.datetime(2024, 1, 1), dt.datetime(2025, 1, 1), dt.datetime(2026, 6, 1)


def _members(spark: SparkSession, rows: list[tuple[str, int]]) -> DataFrame:
    """(record_id, component) -> node, source, record_id, component."""
    return spark.createDataFrame([(hash(r) % 10_000, "crm", r, c) for r, c in rows],
                                 "node long, source string, record_id string, component long")


def _previous(spark: SparkSession, rows: list[tuple[str, str, dt.datetime]]) -> DataFrame:
    return spark.createDataFrame([("crm", r, i, t) for r, i, t in rows],
                                 "source string, record_id string, customer_id string, id_issued_at timestamp")


def _ids(assigned: DataFrame, members: DataFrame) -> dict[str, str]:
    return {r.record_id: r.customer_id for r in members.join(assigned, "component").collect()}


def test_ids_survive_merges_and_splits(spark: SparkSession) -> None:
    previous = _previous(spark, [
        ("a1", "CUST-A", T0), ("a2", "CUST-A", T0),                      # unchanged
        ("b1", "CUST-B", T1), ("c1", "CUST-C", T0),                      # B and C merge: C is older
        ("d1", "CUST-D", T0), ("d2", "CUST-D", T0), ("d3", "CUST-D", T0),  # D splits 2 + 1
        ("e1", "CUST-E", T0),                                             # E: record deleted
    ])
    members = _members(spark, [("a1", 1), ("a2", 1), ("b1", 2), ("c1", 2), ("d1", 3), ("d2", 3), ("d3", 4), ("n1", 5)])
    assigned = assign_ids(members, previous, NOW)
    ids = _ids(assigned, members)
    assert ids["a1"] == ids["a2"] == "CUST-A"
    assert ids["b1"] == ids["c1"] == "CUST-C"                # the oldest id survives the merge
    assert ids["d1"] == ids["d2"] == "CUST-D"                # the larger part keeps the id
    assert ids["d3"] == "CUST-4" and ids["n1"] == "CUST-5"   # new ids from the cluster's smallest node
    issued = {r.customer_id: r.id_issued_at for r in assigned.collect()}
    assert issued["CUST-C"] == T0 and issued["CUST-5"] == NOW

    changes = {(r.change_type, r.customer_id): (r.related_ids, r.records_moved, r.reason)
               for r in identity_changes(members, previous, assigned, "run-2").collect()}
    assert changes[("merge", "CUST-C")] == (["CUST-B", "CUST-C"], 1, "customers merged; the oldest id survives")
    assert changes[("retired", "CUST-B")] == (["CUST-C"], 1, "merged into another customer")
    assert changes[("split", "CUST-D")] == (["CUST-4", "CUST-D"], 1, "customer split; most records keep the id")
    assert changes[("new", "CUST-4")] == (["CUST-D"], 1, "split off an existing customer")
    assert changes[("new", "CUST-5")] == ([], 1, "records not seen before")
    assert changes[("retired", "CUST-E")] == ([], 1, "all records deleted")
    assert ("merge", "CUST-A") not in changes and ("retired", "CUST-A") not in changes


def test_unchanged_input_changes_no_id(spark: SparkSession) -> None:
    previous = _previous(spark, [("a1", "CUST-A", T0), ("a2", "CUST-A", T0), ("b1", "CUST-B", T1)])
    members = _members(spark, [("a1", 7), ("a2", 7), ("b1", 9)])
    assigned = assign_ids(members, previous, NOW)
    assert _ids(assigned, members) == {"a1": "CUST-A", "a2": "CUST-A", "b1": "CUST-B"}
    assert identity_changes(members, previous, assigned, "run").count() == 0


def test_a_minted_id_never_reuses_an_earlier_one(spark: SparkSession) -> None:
    # cluster 7's minted id would be CUST-7, already issued to another customer
    previous = _previous(spark, [("x1", "CUST-7", T0), ("x2", "CUST-7", T0), ("x3", "CUST-7", T0)])
    members = _members(spark, [("x1", 1), ("x2", 1), ("new", 7)])
    ids = _ids(assign_ids(members, previous, NOW), members)
    assert ids["x1"] == "CUST-7" and ids["new"] not in ("CUST-7", "CUST-1")


@pytest.mark.heavy
def test_the_id_map_follows_ids_across_runs(spark: SparkSession) -> None:
    run1_prev = _previous(spark, [("b1", "CUST-B", T1), ("c1", "CUST-C", T0), ("f1", "CUST-F", T0)])
    run1_members = _members(spark, [("b1", 2), ("c1", 2), ("f1", 6)])
    assigned1 = assign_ids(run1_members, run1_prev, NOW)
    map1 = id_map(None, identity_changes(run1_members, run1_prev, assigned1, "r1"), assigned1, "r1")
    assert {r.customer_id: (r.current_customer_id, r.status) for r in map1.collect()} == {
        "CUST-C": ("CUST-C", "active"), "CUST-B": ("CUST-C", "merged"), "CUST-F": ("CUST-F", "active")}
    # run 2: C merges into the older F; f1 ... c1 all in one cluster
    run2_prev = _previous(spark, [("b1", "CUST-C", T0), ("c1", "CUST-C", T0),
                                  ("f1", "CUST-F", dt.datetime(2020, 1, 1))])
    run2_members = _members(spark, [("b1", 2), ("c1", 2), ("f1", 2)])
    assigned2 = assign_ids(run2_members, run2_prev, NOW)
    map2 = id_map(map1, identity_changes(run2_members, run2_prev, assigned2, "r2"), assigned2, "r2")
    current = {r.customer_id: (r.current_customer_id, r.status) for r in map2.collect()}
    assert current == {"CUST-F": ("CUST-F", "active"), "CUST-C": ("CUST-F", "merged"), "CUST-B": ("CUST-F", "merged")}
    scores = spark.createDataFrame([("CUST-B", 0.5), ("CUST-F", 0.9), ("CUST-Z", 0.1)],
                                   "customer_id string, score double")
    followed = {r.score: r.customer_id for r in follow_ids(scores, "customer_id", map2).collect()}
    assert followed == {0.5: "CUST-F", 0.9: "CUST-F", 0.1: "CUST-Z"}  # unknown ids pass through


def test_the_id_map_takes_back_a_reissued_id_and_follows_deletions(spark: SparkSession) -> None:
    previous_map = spark.createDataFrame(
        [("CUST-b", "CUST-F"), ("CUST-F", "CUST-F"), ("CUST-G", "CUST-G"), ("CUST-H", "CUST-G"), ("CUST-D", "CUST-D"),
         ("CUST-E", "CUST-D"), ("CUST-K", None)], "customer_id string, current_customer_id string")
    changes = spark.createDataFrame([
        ("new", "CUST-b", []),                 # a cluster took back the id it once had
        ("retired", "CUST-G", ["CUST-F"]),     # merged into F
        ("retired", "CUST-D", []),             # all its records deleted
        ("new", "CUST-N", []),
    ], "change_type string, customer_id string, related_ids array<string>")
    assigned = spark.createDataFrame([("CUST-b",), ("CUST-F",), ("CUST-N",)], "customer_id string")
    mapped = [(r.customer_id, r.current_customer_id, r.status)
              for r in id_map(previous_map, changes, assigned, "r3").collect()]
    assert sorted(mapped, key=str) == sorted([
        ("CUST-b", "CUST-b", "active"), ("CUST-F", "CUST-F", "active"), ("CUST-G", "CUST-F", "merged"),
        ("CUST-H", "CUST-F", "merged"), ("CUST-D", None, "deleted"), ("CUST-E", None, "deleted"),
        ("CUST-K", None, "deleted"), ("CUST-N", "CUST-N", "active")], key=str)
