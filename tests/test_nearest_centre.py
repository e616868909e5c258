"""Bisecting k-means with nearest-centre assignment: the custom model against numpy and
against Spark's own tree-walking assignment, and its persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyspark.ml import PipelineModel
from pyspark.ml.clustering import BisectingKMeans
from pyspark.ml.linalg import Vectors
from pyspark.sql import DataFrame, SparkSession

from custseg.ml import NearestCentreBisectingKMeans, NearestCentreModel


def _points(spark: SparkSession, values: list[list[float]]) -> DataFrame:
    return spark.createDataFrame([(i, Vectors.dense(v)) for i, v in enumerate(values)], ["id", "v"])


def _three_masses(spark: SparkSession) -> DataFrame:
    """Masses at 0, 6 and 20 on a line: the first bisection puts 0 and 6 together."""
    rng = np.random.default_rng(5)
    values = [[centre + rng.normal(scale=0.3)] for centre in (0.0, 6.0, 20.0) for _ in range(60)]
    return _points(spark, values)


def test_assignment_is_the_nearest_centre_like_numpy(spark: SparkSession) -> None:
    rng = np.random.default_rng(11)
    data = rng.normal(size=(200, 3)) * 4
    centres = rng.normal(size=(5, 3)) * 4
    model = NearestCentreModel(featuresCol="v", predictionCol="p", centres=centres.tolist())
    got = {r.id: r.p for r in model.transform(_points(spark, data.tolist())).collect()}
    expected = ((data[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert [got[i] for i in range(len(data))] == expected.tolist()


def test_a_tie_goes_to_the_lowest_index(spark: SparkSession) -> None:
    model = NearestCentreModel(featuresCol="v", predictionCol="p", centres=[[2.0, 0.0], [0.0, 0.0], [-2.0, 0.0]])
    rows = model.transform(_points(spark, [[1.0, 0.0], [-1.0, 0.0], [-1.1, 0.0]])).orderBy("id").collect()
    assert [r.p for r in rows] == [0, 1, 2]


def test_a_point_goes_to_its_nearest_leaf_where_the_tree_would_send_it_elsewhere(spark: SparkSession) -> None:
    masses = _three_masses(spark)
    ours = NearestCentreBisectingKMeans(k=3, featuresCol="v", predictionCol="p", seed=3).fit(masses)
    spark_model = BisectingKMeans(k=3, featuresCol="v", predictionCol="p", seed=3).fit(masses)
    # The same centres: only the assignment differs.
    spark_centres = sorted(c[0] for c in spark_model.clusterCenters())
    assert sorted(c[0] for c in ours.clusterCenters()) == pytest.approx(spark_centres)
    probe = _points(spark, [[12.5]])   # 6.5 from the centre near 6, 7.5 from the one near 20
    nearest_6 = next(i for i, c in enumerate(ours.clusterCenters()) if abs(c[0] - 6.0) < 1.0)
    assert ours.transform(probe).first().p == nearest_6
    spark_centre = spark_model.clusterCenters()[spark_model.transform(probe).first().p][0]
    assert spark_centre == pytest.approx(20.0, abs=1.0)  # Spark's tree walk: {0, 6} (centre 3) is farther than 20


def test_the_model_persists_and_scores_identically(spark: SparkSession, tmp_path: Path) -> None:
    masses = _three_masses(spark)
    model = NearestCentreBisectingKMeans(k=3, featuresCol="v", predictionCol="p", seed=3, maxIter=10).fit(masses)
    PipelineModel(stages=[model]).write().save(str(tmp_path / "m"))
    loaded = PipelineModel.load(str(tmp_path / "m")).stages[0]
    assert isinstance(loaded, NearestCentreModel)
    assert [list(c) for c in loaded.clusterCenters()] == [list(c) for c in model.clusterCenters()]
    before = {r.id: r.p for r in model.transform(masses).collect()}
    assert {r.id: r.p for r in loaded.transform(masses).collect()} == before and len(set(before.values())) == 3
