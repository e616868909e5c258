"""Segmentation against references: scikit-learn's PCA, k-means and adjusted Rand index;
the custom stages persisting inside a PipelineModel; stability of a real structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyspark.ml import PipelineModel
from pyspark.ml.linalg import Vectors
from pyspark.sql import DataFrame, SparkSession
from sklearn.cluster import KMeans as SkKMeans
from sklearn.decomposition import PCA as SkPCA
from sklearn.metrics import adjusted_rand_score, silhouette_score

from custseg.config.model import SegmentSettings
from custseg.ml import VariancePCA, components_for_share
from custseg.segment import PREDICTION, draw_sample, preprocessing
from custseg.segment.pipeline import SCALED, clusterer
from custseg.segment.selection import grouping_silhouette
from custseg.segment.validation import adjusted_rand_index, validate


def _vectors(spark: SparkSession, matrix: np.ndarray) -> DataFrame:
    return spark.createDataFrame([(i, Vectors.dense(row.tolist())) for i, row in enumerate(matrix)], ["id", "v"])


def _correlated(seed: int, rows: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 2)) * [5.0, 4.0]
    mixing = rng.normal(size=(2, 6))
    return latent @ mixing + rng.normal(scale=0.3, size=(rows, 6))


def test_pca_explained_variance_and_components_match_scikit_learn(spark: SparkSession) -> None:
    data = _correlated(1)
    model = VariancePCA(inputCol="v", outputCol="pc", varianceShare=1.0).fit(_vectors(spark, data))
    reference = SkPCA().fit(data)
    assert model.getK() == 6
    np.testing.assert_allclose(model.explainedVariance.toArray(), reference.explained_variance_ratio_, atol=1e-6)
    ours = model.pc.toArray().T  # one component per row, like scikit-learn
    for mine, theirs in zip(ours[:3], reference.components_[:3], strict=True):  # sign is arbitrary
        np.testing.assert_allclose(mine * np.sign(mine @ theirs), theirs, atol=1e-6)


def test_pca_keeps_the_fewest_components_reaching_the_share(spark: SparkSession) -> None:
    data = _correlated(2)
    ratios = SkPCA().fit(data).explained_variance_ratio_
    needed = int(np.searchsorted(np.cumsum(ratios), 0.9) + 1)
    model = VariancePCA(inputCol="v", outputCol="pc", varianceShare=0.9).fit(_vectors(spark, data))
    assert model.getK() == needed < 6
    assert components_for_share([0.5, 0.3, 0.2], 0.8) == 2 and components_for_share([0.5, 0.3, 0.2], 0.81) == 3
    assert components_for_share([0.5, 0.3, 0.2], 1.0) == 3
    with pytest.raises(ValueError, match="varianceShare"):
        VariancePCA(inputCol="v", outputCol="pc", varianceShare=0.0).fit(_vectors(spark, data))


def test_adjusted_rand_index_equals_scikit_learn(spark: SparkSession) -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 4, size=500)
    noisy = np.where(rng.random(500) < 0.3, rng.integers(0, 5, size=500), truth)
    frame = spark.createDataFrame([(int(a), int(b)) for a, b in zip(truth, noisy, strict=True)], "a int, b int")
    assert adjusted_rand_index(frame, "a", "b") == pytest.approx(adjusted_rand_score(truth, noisy), abs=1e-12)
    assert adjusted_rand_index(frame, "a", "a") == pytest.approx(1.0)
    relabelled = frame.selectExpr("a", "(a + 1) * 10 AS c")
    assert adjusted_rand_index(relabelled, "a", "c") == pytest.approx(1.0)


SPREAD = [(0, 0, 0), (15, 0, 0), (0, 15, 0), (0, 0, 15), (15, 15, 15)]
SQUARE = [(0, 0, 0), (15, 0, 0), (0, 15, 0), (15, 15, 0)]


def _blobs(seed: int, per_blob: int = 80, layout: list[tuple[int, int, int]] = SPREAD) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array(layout, dtype=float)  # well separated
    labels = np.repeat(np.arange(len(layout)), per_blob)
    return centres[labels] + rng.normal(scale=0.8, size=(len(labels), 3)), labels


def _customers(spark: SparkSession, points: np.ndarray, labels: np.ndarray) -> DataFrame:
    rows = [(f"c{i}", int(label), *map(float, point))
            for i, (point, label) in enumerate(zip(points, labels, strict=True))]
    return spark.createDataFrame(rows, "customer_id string, blob int, x double, y double, z double")


# Bisecting k-means splits every cluster of a level at once, top-down, so it finds flat
# k-means' optimum only where the blobs nest (a square splits 2 + 2, then 1 + 1 each); five
# spread blobs can split 3 + 2, and the next level then cuts a single blob in half.
@pytest.mark.parametrize(("algorithm", "layout"), [("kmeans", SPREAD), ("bisecting_kmeans", SQUARE)])
def test_clusters_on_blobs_agree_with_scikit_learn(spark: SparkSession, algorithm: str,
                                                   layout: list[tuple[int, int, int]]) -> None:
    blobs = len(layout)
    points, labels = _blobs(7, layout=layout)
    frame = _customers(spark, points, labels)
    settings = SegmentSettings(features=["x", "y", "z"], algorithm=algorithm, k_min=blobs, k_max=blobs, seed=3)
    prepared = preprocessing(settings).fit(frame).transform(frame)
    predicted = clusterer(settings, blobs).fit(prepared).transform(prepared).select("customer_id", PREDICTION).collect()
    ours = np.array([row[PREDICTION] for row in sorted(predicted, key=lambda r: int(r.customer_id[1:]))])
    scaled = points / points.std(axis=0, ddof=1)  # the pipeline's scaler: unit variance, not centred
    theirs = SkKMeans(n_clusters=blobs, n_init=10, random_state=0).fit_predict(scaled)
    assert adjusted_rand_score(theirs, ours) >= 0.99
    assert adjusted_rand_score(labels, ours) >= 0.99


def test_categories_are_imputed_encoded_and_persist_in_the_pipeline(spark: SparkSession, tmp_path: Path) -> None:
    rows = [("a", 1.0, "female", "Leeds"), ("b", 2.0, None, "Leeds"), ("c", 3.0, "female", "York"),
            ("d", 4.0, "male", "Leeds"), ("e", 5.0, "male", None)]
    frame = spark.createDataFrame(rows, "customer_id string, x double, gender string, city string")
    settings = SegmentSettings(features=["x"], categorical_features=["gender"], frequency_features=["city"],
                               pca_variance_share=None)
    model = preprocessing(settings).fit(frame)
    model.write().save(str(tmp_path / "prep"))
    loaded = PipelineModel.load(str(tmp_path / "prep"))
    unseen = spark.createDataFrame([("f", 6.0, "other", "Bath")],
                                   "customer_id string, x double, gender string, city string")
    for fitted in (model, loaded):
        out = {r.customer_id: r for r in fitted.transform(frame.unionByName(unseen)).collect()}
        assert out["b"]["gender__filled"] == "female"  # mode, ties broken by the smaller value
        assert out["e"]["city__filled"] == "Leeds"
        # shares are learnt after imputation: e's missing city counts as Leeds
        assert out["a"]["city__share"] == pytest.approx(0.8) and out["c"]["city__share"] == pytest.approx(0.2)
        assert out["f"]["city__share"] == 0.0                                   # unseen city
        # female (the mode after imputation), male, then one slot for values not seen in training
        assert out["a"]["gender__onehot"].toArray().tolist() == [1.0, 0.0, 0.0]
        assert out["f"]["gender__onehot"].toArray().tolist() == [0.0, 0.0, 1.0]
        assert out["a"]["features_raw"].size == 1 + 3 + 1
    stage_names = [type(s).__name__ for s in loaded.stages]
    assert stage_names[2:5] == ["CategoryModeImputerModel", "StringIndexerModel", "OneHotEncoderModel"]


def test_a_real_structure_is_stable_under_resampling_and_holdout(spark: SparkSession) -> None:
    points, labels = _blobs(11, per_blob=60)
    frame = _customers(spark, points, labels)
    settings = SegmentSettings(features=["x", "y", "z"], algorithm="kmeans", k_min=5, k_max=5, seed=3,
                               bootstrap_samples=3)
    prepared = preprocessing(settings).fit(frame).transform(frame).cache()
    sample = draw_sample(prepared, settings)
    assert sample.complete and sample.matrix.shape == (300, 3)
    model = clusterer(settings, 5).fit(prepared)
    checked = validate(sample.matrix, settings, 5, model.clusterCenters())
    assert len(checked.bootstrap_ari) == 3
    assert checked.stability_min >= 0.95 and checked.holdout_ari >= 0.95


def test_the_silhouette_of_a_named_grouping_equals_scikit_learn(spark: SparkSession) -> None:
    points, labels = _blobs(11, per_blob=40, layout=SQUARE)
    rng = np.random.default_rng(2)
    mixed = np.where(rng.random(len(labels)) < 0.25, rng.integers(0, 4, size=len(labels)), labels)
    names = np.array(["champion", "churned", "new", "regular"])
    frame = _customers(spark, points, labels)
    named = spark.createDataFrame([(f"c{i}", str(names[g])) for i, g in enumerate(mixed)],
                                  "customer_id string, grouping string")
    settings = SegmentSettings(features=["x", "y", "z"], pca_variance_share=None)
    prepared = preprocessing(settings).fit(frame).transform(frame).join(named, "customer_id")
    rows = sorted(prepared.select("customer_id", SCALED, "grouping").collect(), key=lambda r: int(r.customer_id[1:]))
    vectors = np.array([r[SCALED].toArray() for r in rows])
    groups = np.array([r.grouping for r in rows])
    ours = grouping_silhouette(prepared, settings, "grouping")
    assert ours == pytest.approx(silhouette_score(vectors, groups, metric="sqeuclidean"), abs=1e-9)
    assert ours < grouping_silhouette(prepared, settings, "blob")   # a muddled grouping scores below the true one
