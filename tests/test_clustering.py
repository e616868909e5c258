"""Clustering on the driver and in Spark: one algorithm, one tree for every k, the same centres
as Spark's own bisecting k-means, and measures equal to scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml.clustering import BisectingKMeans
from pyspark.ml.linalg import Vectors
from pyspark.sql import DataFrame, SparkSession
from sklearn.metrics import silhouette_score

from custseg.config.model import SegmentSettings
from custseg.ml import NearestCentreBisectingKMeans, NearestCentreKMeans
from custseg.ml.bisecting import grow, guided_starts, principal_starts
from custseg.ml.lloyd import LocalPoints, SparkPoints
from custseg.ml.measures import cost, nearest, squared_silhouette
from custseg.segment import choose, draw_sample, evaluate_k_range, preprocessing
from custseg.segment.selection import final_model, grouping_silhouette

LAYOUT = [(0, 0, 0), (12, 0, 0), (0, 12, 0), (12, 12, 0), (6, 6, 14), (20, 20, 20)]


def _blobs(seed: int, per_blob: int = 50, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(centre, scale, size=(per_blob, 3)) for centre in LAYOUT]) + 30.0


def _frame(spark: SparkSession, matrix: np.ndarray) -> DataFrame:
    return spark.createDataFrame([(f"c{i}", Vectors.dense(row.tolist())) for i, row in enumerate(matrix)],
                                 ["customer_id", "v"])


def _sorted(centres: list[np.ndarray]) -> np.ndarray:
    return np.array(sorted(np.asarray(c).tolist() for c in centres))


def test_one_tree_grown_for_the_largest_k_holds_every_smaller_fit() -> None:
    points = LocalPoints(_blobs(1, scale=3.0))  # overlapping blobs: every level has real choices
    tree = grow(points, 10, max_iterations=40)
    for k in range(2, 11):
        alone = grow(points, k, max_iterations=40).centres(k)
        assert alone is not None
        np.testing.assert_array_equal(np.array(tree.centres(k)), np.array(alone))
    assert len(tree.centres(10) or []) == 10
    assert grow(points, 3, max_iterations=40).leaves(10) is None  # a tree grown for 3 cannot answer for 10


def test_the_driver_and_spark_grow_the_same_tree(spark: SparkSession) -> None:
    matrix = _blobs(2, scale=2.0)
    frame = _frame(spark, matrix).repartition(3)
    spark_points = SparkPoints(frame, "v")
    try:
        in_spark = grow(spark_points, 5, max_iterations=40)
    finally:
        spark_points.release()
    on_driver = grow(LocalPoints(matrix), 5, max_iterations=40)
    assert in_spark.children == on_driver.children
    for k in range(2, 6):
        np.testing.assert_allclose(np.array(in_spark.centres(k)), np.array(on_driver.centres(k)), rtol=1e-9)


@pytest.mark.parametrize("estimator", [NearestCentreBisectingKMeans, NearestCentreKMeans])
def test_an_estimator_fits_alike_on_the_driver_and_in_spark(spark: SparkSession, estimator: type) -> None:
    frame = _frame(spark, _blobs(3)).repartition(2)
    local = estimator(k=6, featuresCol="v", predictionCol="p", seed=4, maxIter=30).fit(frame)
    distributed = estimator(k=6, featuresCol="v", predictionCol="p", seed=4, maxIter=30, driverRows=0).fit(frame)
    np.testing.assert_allclose(_sorted(local.clusterCenters()), _sorted(distributed.clusterCenters()), rtol=1e-6)
    assigned = {r.customer_id: r.p for r in local.transform(frame).collect()}
    assert len(set(assigned.values())) == 6


def test_a_division_runs_between_the_blobs_of_a_pair_and_matches_spark_where_the_pair_is_plain(
        spark: SparkSession) -> None:
    rng = np.random.default_rng(8)
    pairs = [(0, 0, 0), (15, 0, 0), (0, 40, 0), (15, 40, 0)]  # two pairs of blobs, each along x
    matrix = np.concatenate([rng.normal(centre, 0.8, size=(60, 3)) for centre in pairs]) + 5.0
    expected = _sorted([np.mean(matrix[i * 60:(i + 1) * 60], axis=0) for i in range(4)])
    for seed in range(4):  # the divisions need no random start: any seed finds the four blobs
        ours = NearestCentreBisectingKMeans(k=4, featuresCol="v", seed=seed).fit(_frame(spark, matrix))
        np.testing.assert_allclose(_sorted(ours.clusterCenters()), expected, atol=1e-9)
    # The first division (the pairs apart) leaves no choice: Spark's bisecting k-means agrees.
    frame = _frame(spark, matrix)
    ours = NearestCentreBisectingKMeans(k=2, featuresCol="v").fit(frame)
    theirs = BisectingKMeans(k=2, featuresCol="v", seed=7, maxIter=40).fit(frame)
    np.testing.assert_allclose(_sorted(ours.clusterCenters()), _sorted(theirs.clusterCenters()), atol=1e-9)


def test_silhouette_and_cost_equal_scikit_learn_and_spark(spark: SparkSession) -> None:
    matrix = _blobs(5, per_blob=30, scale=4.0)
    centres = [matrix[0], matrix[40], matrix[100], matrix[170]]
    labels = nearest(matrix, centres)
    assert squared_silhouette(matrix, labels) == pytest.approx(
        silhouette_score(matrix, labels, metric="sqeuclidean"), abs=1e-12)
    expected_cost = sum(float(np.sum((row - centres[label]) ** 2)) for row, label in zip(matrix, labels, strict=True))
    assert cost(matrix, labels, centres) == pytest.approx(expected_cost, rel=1e-12)
    frame = spark.createDataFrame([(f"c{i}", Vectors.dense(row.tolist()), int(label))
                                   for i, (row, label) in enumerate(zip(matrix, labels, strict=True))],
                                  ["customer_id", "features_scaled", "grouping"])
    settings = SegmentSettings(features=["x"], pca_variance_share=None)
    assert grouping_silhouette(frame, settings, "grouping") == pytest.approx(squared_silhouette(matrix, labels),
                                                                               abs=1e-9)
    with pytest.raises(ValueError, match="two clusters"):
        squared_silhouette(matrix, np.zeros(len(matrix), dtype=int))


def test_the_sample_is_bounded_and_the_same_however_the_frame_is_split(spark: SparkSession) -> None:
    rows = [(f"c{i}", float(i), float(i % 7)) for i in range(300)]
    frame = spark.createDataFrame(rows, "customer_id string, x double, y double")
    settings = SegmentSettings(features=["x", "y"], pca_variance_share=None, sample_size=100, k_min=2, k_max=3)
    prepared = preprocessing(settings).fit(frame).transform(frame)
    one = draw_sample(prepared.coalesce(1), settings)
    many = draw_sample(prepared.repartition(7), settings)
    assert one.total == many.total == 300 and not one.complete
    assert one.matrix.shape == (100, 2)
    np.testing.assert_array_equal(one.matrix, many.matrix)
    whole = draw_sample(prepared, SegmentSettings(features=["x", "y"], pca_variance_share=None, sample_size=300))
    assert whole.complete and whole.matrix.shape == (300, 2)


def test_the_chosen_k_is_fitted_on_every_customer_when_the_sample_is_not_all(spark: SparkSession) -> None:
    matrix = _blobs(6, per_blob=80)
    frame = spark.createDataFrame([(f"c{i}", *map(float, row)) for i, row in enumerate(matrix)],
                                  "customer_id string, x double, y double, z double")
    settings = SegmentSettings(features=["x", "y", "z"], pca_variance_share=None, sample_size=200, k_min=6, k_max=6)
    prepared = preprocessing(settings).fit(frame).transform(frame).cache()
    sample = draw_sample(prepared, settings)
    best = choose(evaluate_k_range(sample, settings))
    final = final_model(prepared, sample, settings, best)
    assert final is not best.model and len(sample.matrix) == 200
    all_rows = np.array([r.features_scaled.toArray() for r in prepared.select("features_scaled").collect()])
    # Spark grew the sample's tree again on every row: as the driver does, from the same divisions.
    assert best.tree is not None
    expected = grow(LocalPoints(all_rows), 6, settings.max_iterations, guided_starts(best.tree, principal_starts))
    np.testing.assert_allclose(np.array(final.clusterCenters()), np.array(expected.centres(6)), rtol=1e-9)
    sample_centres = best.model.clusterCenters()
    assert cost(all_rows, nearest(all_rows, final.clusterCenters()), final.clusterCenters()) <= \
        cost(all_rows, nearest(all_rows, sample_centres), sample_centres)
    # The sample's centres are near the full fit's: the blobs are found either way.
    np.testing.assert_allclose(_sorted(best.model.clusterCenters()), _sorted(final.clusterCenters()), atol=0.2)
