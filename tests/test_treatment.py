"""Imputation policies, winsorizing, kNN imputation and isolation-forest scores, with the log."""

from __future__ import annotations

import random

import pytest
from pyspark.sql import SparkSession

from custseg.config.model import FeatureSettings
from custseg.features.treatment import treat_features


def test_simple_policies_fill_flag_and_log(spark: SparkSession) -> None:
    frame = spark.createDataFrame([
        ("a", 10, 1.0, 5, 2.0, None), ("b", None, 3.0, 5, None, 1.0), ("c", 30, None, 7, 4.0, None),
        ("d", 20, 8.0, None, None, 3.0), ("e", None, None, 5, 6.0, None),
    ], "customer_id string, age int, spend double, visits int, rate double, score double")
    settings = FeatureSettings(imputation={"age": "median", "spend": "mean", "visits": "mode", "rate": "zero",
                                           "score": "constant:-1"})
    treated = treat_features(frame, settings)
    rows = {r.customer_id: r for r in treated.features.collect()}
    assert [rows[k].age for k in "abcde"] == [10, 20, 30, 20, 20]
    assert [rows[k].spend for k in "abcde"] == [1.0, 3.0, 4.0, 8.0, 4.0]
    assert [rows[k].visits for k in "abcde"] == [5, 5, 7, 5, 5]
    assert [rows[k].rate for k in "abcde"] == [2.0, 0.0, 4.0, 0.0, 6.0]
    assert [rows[k].score for k in "abcde"] == [-1.0, 1.0, -1.0, 3.0, -1.0]
    assert rows["e"].imputed_columns == ["age", "spend", "score"] and rows["a"].imputed_columns == ["score"]
    assert rows["a"].is_outlier is False and rows["a"].outlier_score is None
    entries = {(c, r): n for c, r, n in treated.log}
    assert entries[("age", "missing before treatment")] == 2
    assert entries[("age", "null -> median (20)")] == 2
    assert entries[("spend", "null -> mean (4)")] == 2
    assert entries[("score", "null -> constant:-1 (-1)")] == 3


def test_none_leaves_undefined_values_null(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("a", None), ("b", 4.0)], "customer_id string, recency double")
    rows = treat_features(frame, FeatureSettings(imputation={"recency": "none"})).features.collect()
    assert sorted((r.customer_id, r.recency, r.imputed_columns) for r in rows) == [("a", None, []), ("b", 4.0, [])]


def test_winsorizing_caps_and_flags(spark: SparkSession) -> None:
    values = [(f"c{i}", float(i)) for i in range(1, 101)] + [("none", None)]
    frame = spark.createDataFrame(values, "customer_id string, spend double")
    treated = treat_features(frame, FeatureSettings(winsorize={"spend": [0.05, 0.95]}))
    rows = {r.customer_id: r for r in treated.features.collect()}
    assert (rows["c1"].spend, rows["c4"].spend, rows["c50"].spend, rows["c100"].spend) == (5.0, 5.0, 50.0, 95.0)
    assert rows["c1"].capped_columns == ["spend"] and rows["c50"].capped_columns == []
    assert rows["none"].spend is None and rows["none"].capped_columns == []  # undefined stays undefined
    assert ("spend", "capped to [5, 95] (quantiles 0.05-0.95)", 9) in treated.log


def test_knn_imputation_uses_the_nearest_customers(spark: SparkSession) -> None:
    rows = [(f"c{i}", float(i), 2.0 * i) for i in range(1, 41)]
    rows[9] = ("c10", 10.0, None)      # neighbours 8, 9, 11, 12 have 16, 18, 22, 24
    rows[29] = ("c30", 30.0, None)
    frame = spark.createDataFrame(rows, "customer_id string, x double, y double")
    settings = FeatureSettings(imputation={"y": "knn"}, knn_predictors=["x"], knn_neighbors=4)
    treated = treat_features(frame, settings)
    filled = {r.customer_id: (r.y, r.imputed_columns) for r in treated.features.collect()}
    assert filled["c10"] == (pytest.approx(20.0), ["y"]) and filled["c30"] == (pytest.approx(60.0), ["y"])
    assert filled["c11"] == (22.0, [])
    assert ("y", "null -> knn (4 neighbours)", 2) in treated.log


def test_isolation_forest_flags_planted_anomalies(spark: SparkSession) -> None:
    rng = random.Random(5)
    rows = [(f"c{i}", rng.gauss(50, 5), rng.gauss(10, 1)) for i in range(300)]
    rows += [("odd-1", 400.0, 10.0), ("odd-2", 50.0, 90.0)]
    frame = spark.createDataFrame(rows, "customer_id string, spend double, visits double")
    settings = FeatureSettings(outlier_model="isolation_forest", outlier_features=["spend", "visits"],
                               outlier_contamination=0.01)
    scored = sorted(treat_features(frame, settings).features.collect(), key=lambda r: -r.outlier_score)
    assert {scored[0].customer_id, scored[1].customer_id} == {"odd-1", "odd-2"}
    assert scored[0].is_outlier and scored[1].is_outlier
    assert sum(r.is_outlier for r in scored) <= 6
    # The scores do not depend on the order the rows arrive in.
    shuffled = frame.repartition(5, "customer_id")
    again = {r.customer_id: r.outlier_score for r in treat_features(shuffled, settings).features.collect()}
    assert again == {r.customer_id: r.outlier_score for r in scored}


def test_bad_policies_are_refused_at_load() -> None:
    with pytest.raises(ValueError, match="imputation policy 'average' for age is not one of"):
        FeatureSettings(imputation={"age": "average"})
    with pytest.raises(ValueError, match="knn imputation needs knn_predictors"):
        FeatureSettings(imputation={"age": "knn"})
    with pytest.raises(ValueError, match="winsorize bounds for spend"):
        FeatureSettings(winsorize={"spend": [0.9, 0.1]})
