"""Choosing k: fit every k in range on the same prepared data, keep the best silhouette among
the choices whose smallest segment is not below the minimum share."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from pyspark.ml import Model
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import StringIndexer
from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from custseg.config.model import SegmentSettings
from custseg.ml.clustering import squared_distances
from custseg.segment.pipeline import PREDICTION, clusterer, model_input

log = logging.getLogger(__name__)


@dataclass
class KResult:
    k: int
    clusters_found: int
    silhouette: float
    cost: float
    smallest_share: float
    eligible: bool
    model: Model
    seconds: float   # fit, assignment and silhouette of this k


def silhouette_evaluator(settings: SegmentSettings, prediction: str) -> ClusteringEvaluator:
    """Silhouette of the grouping in column ``prediction`` over the model's input vector."""
    return ClusteringEvaluator(featuresCol=model_input(settings), predictionCol=prediction, metricName="silhouette",
                               distanceMeasure="squaredEuclidean")


def grouping_silhouette(prepared: DataFrame, settings: SegmentSettings, group: str) -> float:
    """Silhouette of any labelled grouping (a string or number column ``group``) of the
    prepared customers, in the space and by the measure the k search uses."""
    indexer = StringIndexer(inputCol=group, outputCol="group_index", stringOrderType="alphabetAsc")
    indexed = indexer.fit(prepared).transform(prepared)
    return float(silhouette_evaluator(settings, "group_index").evaluate(indexed))


def evaluate_k_range(prepared: DataFrame, settings: SegmentSettings) -> list[KResult]:
    """Fit and score each k in [k_min, k_max] on ``prepared`` (which holds the scaled vector)."""
    evaluator = silhouette_evaluator(settings, PREDICTION)
    total = prepared.count()
    results = []
    for k in range(settings.k_min, settings.k_max + 1):
        started = time.perf_counter()
        model = clusterer(settings, k).fit(prepared)
        predicted = model.transform(prepared)
        clusters = _sizes_and_costs(predicted, model_input(settings), model.clusterCenters())  # at most k rows
        sizes = [row["customers"] for row in clusters]
        found = len(sizes)
        silhouette = evaluator.evaluate(predicted) if found > 1 else -1.0
        smallest = min(sizes) / total if total else 0.0
        cost = float(sum(row["cost"] for row in clusters))
        usable = found > 1 and smallest >= settings.min_segment_share
        results.append(KResult(k, found, silhouette, cost, smallest, usable, model, time.perf_counter() - started))
        log.info("segment: k=%d found %d clusters, silhouette %.4f, smallest share %.3f",
                 k, found, silhouette, smallest)
    return results


def _sizes_and_costs(predicted: DataFrame, vector: str, centres: list[Any]) -> list[Row]:
    """Per cluster: its customers and the sum of their squared distances to its centre."""
    distances = squared_distances(F.col(vector), [list(map(float, c)) for c in centres])
    distance = F.element_at(distances, F.col(PREDICTION) + 1)
    return (predicted.groupBy(PREDICTION)
            .agg(F.count(F.lit(1)).alias("customers"), F.sum(distance).alias("cost")).collect())


def choose(results: list[KResult]) -> KResult:
    """Best silhouette among eligible k; if none is eligible, the best silhouette overall."""
    eligible = [r for r in results if r.eligible]
    pool = eligible or results
    if not eligible:
        log.warning("segment: no k satisfies the minimum segment share; using the best silhouette anyway")
    return max(pool, key=lambda r: (r.silhouette, -r.k))


def cluster_sizes(predicted: DataFrame) -> DataFrame:
    return predicted.groupBy(PREDICTION).agg(F.count(F.lit(1)).alias("customers"))
