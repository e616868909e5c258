"""The segment and assign jobs over versions of customer_features: stable segment ids, a
nested parent level, and scoring of new and changed customers without refitting."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.model import SegmentSettings
from custseg.errors import InputDataError
from custseg.jobs import assign, segment
from custseg.runtime import run_job, table_store
from custseg.tables.gold import CUSTOMER_FEATURES

BLOBS = {"a": (0.0, 0.0), "b": (40.0, 0.0), "c": (0.0, 40.0), "d": (40.0, 40.0)}
FILLER: dict[type, Any] = {T.StringType: "x", T.IntegerType: 0, T.DoubleType: 0.0, T.DateType: dt.date(2026, 1, 1),
                           T.BooleanType: False, T.ArrayType: []}


def _features(spark: SparkSession, customers: dict[str, tuple[float, float]]) -> DataFrame:
    """customer_features rows: monetary and spend_90d from ``customers``, every other column a filler."""
    fields = CUSTOMER_FEATURES.schema.fields
    rows = []
    for customer, (x, y) in sorted(customers.items()):
        values = {f.name: FILLER[type(f.dataType)] for f in fields}
        values.update(customer_id=customer, monetary=100.0 + x, spend_90d=100.0 + y)
        rows.append(tuple(values[f.name] for f in fields))
    return spark.createDataFrame(rows, CUSTOMER_FEATURES.schema)


def _population(blobs: dict[str, tuple[float, float]], per_blob: int, seed: int) -> dict[str, tuple[float, float]]:
    rng = random.Random(seed)
    return {f"{blob}{i}": (cx + rng.gauss(0, 1.0), cy + rng.gauss(0, 1.0))
            for blob, (cx, cy) in blobs.items() for i in range(per_blob)}


def _segments(spark: SparkSession, config: Config) -> dict[str, Any]:
    table = table_store(spark, config).read(Catalog(config).path("customer_segments"))
    return {r.customer_id: r for r in table.collect()}


def _blob_ids(rows: dict[str, Any]) -> dict[str, int]:
    ids = {}
    for customer, row in rows.items():
        assert ids.setdefault(customer[0], row.segment_id) == row.segment_id, "a blob split across segments"
    return ids


@pytest.fixture
def segment_config(config: Config) -> Config:
    settings = SegmentSettings(features=["monetary", "spend_90d"], log_features=[], k_min=2, k_max=6, seed=11,
                               bootstrap_samples=0, pca_variance_share=None)
    return config.with_overrides(segment=settings, rules={})


def _write_features(spark: SparkSession, config: Config, customers: dict[str, tuple[float, float]]) -> None:
    run_job(spark, config, "features", lambda ctx: ctx.write("customer_features", _features(spark, customers)))


def test_segment_ids_survive_a_refit_and_a_new_segment_gets_a_new_id(spark: SparkSession,
                                                                     segment_config: Config) -> None:
    customers = _population(BLOBS, 30, seed=1)
    _write_features(spark, segment_config, customers)
    first = segment.run(spark, segment_config)
    rows = _segments(spark, segment_config)
    ids = _blob_ids(rows)
    assert first.metrics["k"] == "4" and sorted(ids.values()) == [0, 1, 2, 3]
    # the parent level nests the segments: one parent per segment, named by its smallest segment id
    parents = {row.segment_id: row.parent_segment_id for row in rows.values()}
    groups: dict[int, set[int]] = {}
    for child, parent in parents.items():
        groups.setdefault(parent, set()).add(child)
    assert 2 <= len(groups) <= 3 and all(parent == min(children) for parent, children in groups.items())
    assert first.metrics["parent_segments"] == str(len(groups))

    # Another seed renumbers the clusters; the segments, matched by centre, keep their ids.
    reseeded = segment_config.with_overrides(segment=SegmentSettings(**{**vars(segment_config.segment), "seed": 5}))
    second = segment.run(spark, reseeded)
    assert _blob_ids(_segments(spark, reseeded)) == ids
    assert second.metrics["segment_ids_carried_over"] == "4" and second.metrics["segment_ids_new"] == "0"

    # A fifth group of customers appears: the four keep their ids, the new one gets id 4.
    _write_features(spark, segment_config, {**customers, **_population({"e": (80.0, 80.0)}, 30, seed=2)})
    segment.run(spark, segment_config)
    grown = _blob_ids(_segments(spark, segment_config))
    assert grown == {**ids, "e": 4}
    profiles = table_store(spark, segment_config).read(Catalog(segment_config).path("segment_profiles")).collect()
    new_ids = {r.segment_id: r.matched_distance is None for r in profiles}
    assert new_ids == {0: False, 1: False, 2: False, 3: False, 4: True}
    assert {r.next_segment_id for r in profiles} == {5}


def test_assign_scores_only_new_and_changed_customers(spark: SparkSession, segment_config: Config) -> None:
    with pytest.raises(InputDataError, match="no segmentation model yet"):
        _write_features(spark, segment_config, {"a0": (0.0, 0.0)})
        assign.run(spark, segment_config)
    customers = _population(BLOBS, 30, seed=3)
    _write_features(spark, segment_config, customers)
    fitted = segment.run(spark, segment_config)
    before = _segments(spark, segment_config)
    ids = _blob_ids(before)

    changed = dict(customers)
    del changed["a0"]                                                   # gone
    changed["b1"] = BLOBS["d"]                                          # moved to blob d
    changed.update({"c-new1": (0.5, 40.5), "a-new2": (-0.5, 0.3)})     # arrived
    _write_features(spark, segment_config, changed)
    result = assign.run(spark, segment_config)
    after = _segments(spark, segment_config)
    # customer_features behind the current segments (version 1) is read by time travel, and recorded
    tables = {k: v for k, v in result.input_versions.items() if k.startswith("customer_")}
    assert tables == {"customer_features": 2, "customer_features@1": 1, "customer_segments": 0}
    assert result.metrics["customers_scored"] == "3" and result.metrics["customers_removed"] == "1"
    assert result.metrics["customers_kept"] == str(len(changed) - 3)
    assert set(after) == set(changed)
    assert after["b1"].segment_id == ids["d"]
    assert after["c-new1"].segment_id == ids["c"] and after["a-new2"].segment_id == ids["a"]
    unchanged = [c for c in after if c in before and c != "b1"]
    assert {c: after[c] for c in unchanged} == {c: before[c] for c in unchanged}
    assert {r.model_run_id for r in after.values()} == {fitted.run_id}

    again = assign.run(spark, segment_config)                       # nothing changed since
    assert {k for k in again.input_versions if k.startswith("customer_")} == {"customer_features", "customer_segments"}
    assert again.metrics["customers_scored"] == "0" and _segments(spark, segment_config) == after
    missing = segment_config.with_overrides(
        segment=SegmentSettings(**{**vars(segment_config.segment), "model_run": "segment-nope"}))
    with pytest.raises(InputDataError, match="no segmentation model of run 'segment-nope'"):
        assign.run(spark, missing)
