"""Segmentation pipeline: k choice, persistence round trip, profiles and names."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession

from custseg.config.model import FeatureSettings, SegmentSettings
from custseg.segment import (
    PREDICTION,
    choose,
    draw_sample,
    evaluate_k_range,
    full_model,
    name_segments,
    preprocessing,
)

CENTRES = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (10.0, 10.0)]


def _blobs(spark: SparkSession, centres: list[tuple[float, float]], per_blob: int, seed: int = 3) -> DataFrame:
    rng = random.Random(seed)
    rows = [(f"c{b}-{i}", b, cx + rng.gauss(0, 0.5), cy + rng.gauss(0, 0.5), "active")
            for b, (cx, cy) in enumerate(centres) for i in range(per_blob)]
    return spark.createDataFrame(rows, "customer_id string, blob int, x double, y double, lifecycle_stage string")


def _settings(**overrides: object) -> SegmentSettings:
    values: dict[str, object] = {"features": ["x", "y"], "log_features": [], "k_min": 2, "k_max": 6, "seed": 11}
    values.update(overrides)
    return SegmentSettings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ["bisecting_kmeans", "kmeans"])
def test_k_is_chosen_on_well_separated_blobs(spark: SparkSession, algorithm: str) -> None:
    frame = _blobs(spark, CENTRES, 60)
    settings = _settings(algorithm=algorithm)
    prepared = preprocessing(settings).fit(frame).transform(frame).cache()
    results = evaluate_k_range(draw_sample(prepared, settings), settings)
    best = choose(results)
    assert best.k == 4 and best.silhouette > 0.8
    assert [r.k for r in results] == [2, 3, 4, 5, 6]
    predicted = best.model.transform(prepared).select("blob", PREDICTION).distinct().collect()
    assert len(predicted) == 4 and len({r[PREDICTION] for r in predicted}) == 4  # one segment per blob


def test_minimum_share_rules_out_tiny_segments(spark: SparkSession) -> None:
    frame = _blobs(spark, CENTRES[:2], 100).unionByName(_blobs(spark, [(50.0, 50.0)], 2, seed=5))
    settings = _settings(algorithm="kmeans", k_min=2, k_max=3, min_segment_share=0.05)
    prepared = preprocessing(settings).fit(frame).transform(frame)
    results = {r.k: r for r in evaluate_k_range(draw_sample(prepared, settings), settings)}
    assert results[3].smallest_share == pytest.approx(2 / 202) and not results[3].eligible
    assert choose(list(results.values())).k == 2


def test_saved_model_reloads_and_scores_identically(spark: SparkSession, tmp_path: Path) -> None:
    frame = _blobs(spark, CENTRES, 30)
    settings = _settings(features=["x", "y"], log_features=["y"], scaler="robust")
    prep = preprocessing(settings).fit(frame)
    search = _settings(log_features=["y"], k_min=4, k_max=4)
    cluster = choose(evaluate_k_range(draw_sample(prep.transform(frame), search), search)).model
    model = full_model(prep, cluster)
    model.write().save(str(tmp_path / "model"))
    loaded = PipelineModel.load(str(tmp_path / "model"))
    before = {r.customer_id: r[PREDICTION] for r in model.transform(frame).collect()}
    after = {r.customer_id: r[PREDICTION] for r in loaded.transform(frame).collect()}
    assert before == after and len(set(before.values())) == 4
    assert [type(s).__name__ for s in loaded.stages] == [
        "SQLTransformer", "ImputerModel", "VectorAssembler", "RobustScalerModel", "PCAModel", "NearestCentreModel"]


def test_missing_values_are_imputed_with_the_median(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("a", 1.0, 1.0), ("b", 3.0, None), ("c", 5.0, 5.0), ("d", None, 3.0)],
                                  "customer_id string, x double, y double")
    out = preprocessing(_settings()).fit(frame).transform(frame)
    imputed = {r.customer_id: (r["x__in_imputed"], r["y__in_imputed"]) for r in out.collect()}
    assert imputed == {"a": (1.0, 1.0), "b": (3.0, 3.0), "c": (5.0, 5.0), "d": (3.0, 3.0)}


def test_missing_values_of_log_features_are_imputed_with_the_median_of_the_logs(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("a", -4.0), ("b", None), ("c", math.e**2 - 1), ("d", math.e**3 - 1)],
                                  "customer_id string, x double")
    out = preprocessing(_settings(features=["x"], log_features=["x"])).fit(frame).transform(frame)
    imputed = {r.customer_id: r["x__in_imputed"] for r in out.collect()}
    # The negative clips to log1p(0) = 0, and the null gets the median of the logs 0, 2 and
    # 3, not log1p(0) = 0 as if the customer had a zero.
    assert imputed == pytest.approx({"a": 0.0, "b": 2.0, "c": 2.0, "d": 3.0})


def _profile(segment_id: int, **stats: tuple[float, float]) -> dict[str, object]:
    return {PREDICTION: segment_id, "feature_stats": [
        {"feature": f, "median": median, "lift": lift} for f, (median, lift) in stats.items()]}


def test_segment_names_follow_the_profile() -> None:
    rules = FeatureSettings()
    profiles = [
        _profile(0, frequency=(0, 0.0), sessions_90d=(12, 2.5), recency_days=(400, 1.0), tenure_days=(300, 1.0)),
        _profile(1, frequency=(2, 0.4), recency_days=(500, 3.0), avg_order_value=(80, 0.9), tenure_days=(700, 1.5)),
        _profile(2, frequency=(4, 0.8), recency_days=(240, 2.0), avg_order_value=(900, 3.0), tenure_days=(600, 1.3)),
        _profile(3, frequency=(1, 0.2), recency_days=(20, 0.2), tenure_days=(40, 0.1)),
        _profile(4, frequency=(12, 2.2), recency_days=(15, 0.2), monetary=(5000, 3.0), tenure_days=(650, 1.3)),
        _profile(5, frequency=(10, 1.8), recency_days=(20, 0.2), discount_rate=(0.8, 3.0), tenure_days=(500, 1.1)),
        _profile(6, frequency=(6, 1.1), recency_days=(30, 0.3), sessions_90d=(9, 1.6), tenure_days=(500, 1.1)),
        _profile(7, frequency=(6, 1.1), recency_days=(30, 0.3), sessions_90d=(2, 0.4), tenure_days=(500, 1.1)),
    ]
    assert name_segments(profiles, rules) == {
        0: "Browsers, no purchase yet", 1: "Churned", 2: "At-risk big spenders", 3: "New customers",
        4: "High-value loyal", 5: "Deal seekers", 6: "Regulars (more browsing)", 7: "Regulars (less browsing)",
    }
