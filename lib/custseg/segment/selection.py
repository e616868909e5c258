"""Choosing k: fit every k in range on the same customers, keep the best silhouette among the
choices whose smallest segment is not below the minimum share.

The search runs on the driver, on a uniform sample of at most ``sample_size`` customers (all
of them when there are fewer): each k is a handful of numpy passes there, where a Spark fit
costs a job per iteration. Each k keeps the cheapest of ``restarts`` fits (as scikit-learn's
``n_init``); bisecting k-means grows one tree per restart for ``k_max``, which holds the model
of every smaller k (custseg.ml.bisecting). When the sample is not every customer, the chosen
fit is then grown again on all of them, in Spark (:func:`final_model`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import StringIndexer
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import SegmentSettings
from custseg.ml import NearestCentreModel
from custseg.ml.bisecting import BisectingTree, grow, restart_starts
from custseg.ml.clustering import arrow_matrix, centre_model, kmeans_fit, refit_in_spark, tree_cost
from custseg.ml.lloyd import Centre, LocalPoints
from custseg.ml.measures import cost, nearest, squared_silhouette
from custseg.segment.pipeline import PREDICTION, model_input

log = logging.getLogger(__name__)


@dataclass
class KResult:
    k: int
    clusters_found: int
    silhouette: float      # on the sample
    cost: float            # within-cluster sum of squares of the sample
    smallest_share: float  # of the sample
    eligible: bool
    model: NearestCentreModel
    seconds: float   # fit, assignment and silhouette of this k (a shared tree's growth spread evenly)
    tree: BisectingTree | None = None   # bisecting k-means: the tree the model's centres come from


@dataclass
class Sample:
    """The customers the search sees, on the driver, and how many there are in all."""

    matrix: np.ndarray   # a row per sampled customer: the vector the clusterer reads
    total: int

    @property
    def complete(self) -> bool:
        return len(self.matrix) == self.total


def draw_sample(prepared: DataFrame, settings: SegmentSettings) -> Sample:
    """At most ``settings.sample_size`` of the customers of ``prepared``, the same ones for the
    same customers and seed however the frame is partitioned: those whose id hashes lowest with
    the seed."""
    total = prepared.count()
    vector = vector_to_array(F.col(model_input(settings))).alias("x")
    rank = F.xxhash64(F.lit(settings.seed), F.col("customer_id"))
    chosen = prepared if total <= settings.sample_size else \
        prepared.orderBy(rank, F.col("customer_id")).limit(settings.sample_size)
    return Sample(arrow_matrix(chosen.select(vector).toArrow().column("x")), total)  # bounded by sample_size


def fit(matrix: np.ndarray, settings: SegmentSettings, k: int,
        trees: list[BisectingTree] | None = None) -> tuple[list[Centre], BisectingTree | None]:
    """The configured algorithm's centres for ``k`` on points held on the driver: the cheapest of
    ``settings.restarts`` fits (from ``trees``, bisecting trees already grown for k or more, where
    given), and the tree they come from."""
    points = LocalPoints(matrix)
    if settings.algorithm == "kmeans":
        fits = [kmeans_fit(points, matrix, k, settings.max_iterations, settings.seed + r)
                for r in range(settings.restarts)]
        return min(fits, key=lambda f: f[0])[1], None
    trees = trees or [grow(points, k, settings.max_iterations, restart_starts(settings.seed, r))
                      for r in range(settings.restarts)]
    answered = [(restart, tree if tree.leaves(k) is not None
                 else grow(points, k, settings.max_iterations, restart_starts(settings.seed, restart)))
                for restart, tree in enumerate(trees)]
    _, tree = min(answered, key=lambda pair: (tree_cost(pair[1], k), pair[0]))
    centres = tree.centres(k)
    assert centres is not None
    return centres, tree


def evaluate_k_range(sample: Sample, settings: SegmentSettings) -> list[KResult]:
    """Fit and score each k in [k_min, k_max] on the sample."""
    matrix = sample.matrix
    started = time.perf_counter()
    trees = [grow(LocalPoints(matrix), settings.k_max, settings.max_iterations, restart_starts(settings.seed, r))
             for r in range(settings.restarts)] if settings.algorithm == "bisecting_kmeans" else None
    shared = (time.perf_counter() - started) / (settings.k_max - settings.k_min + 1)
    results = []
    for k in range(settings.k_min, settings.k_max + 1):
        started = time.perf_counter()
        centres, tree = fit(matrix, settings, k, trees)
        labels = nearest(matrix, centres)
        sizes = np.bincount(labels, minlength=len(centres))
        found = int(np.count_nonzero(sizes))
        silhouette = squared_silhouette(matrix, labels) if found > 1 else -1.0
        smallest = float(sizes[sizes > 0].min()) / len(matrix) if len(matrix) else 0.0
        usable = found > 1 and smallest >= settings.min_segment_share
        model = centre_model(model_input(settings), PREDICTION, centres)
        results.append(KResult(k, found, silhouette, cost(matrix, labels, centres), smallest, usable, model,
                               shared + time.perf_counter() - started, tree))
        log.info("segment: k=%d found %d clusters, silhouette %.4f, smallest share %.3f",
                 k, found, silhouette, smallest)
    return results


def final_model(prepared: DataFrame, sample: Sample, settings: SegmentSettings, best: KResult) -> NearestCentreModel:
    """The chosen k's model on every customer: the search's own fit when the sample holds them
    all, else that fit grown again on all of them in Spark, from the sample's divisions."""
    if sample.complete:
        return best.model
    return refit_in_spark(prepared, model_input(settings), PREDICTION, settings.max_iterations, best.tree, best.k,
                          best.model.clusterCenters())


def sample_silhouette(matrix: np.ndarray, centres: list[Centre]) -> float:
    """Silhouette, on the sample, of the model with ``centres`` (-1 when it forms one cluster)."""
    labels = nearest(matrix, centres)
    return squared_silhouette(matrix, labels) if len(np.unique(labels)) > 1 else -1.0


def choose(results: list[KResult]) -> KResult:
    """Best silhouette among eligible k; if none is eligible, the best silhouette overall."""
    eligible = [r for r in results if r.eligible]
    pool = eligible or results
    if not eligible:
        log.warning("segment: no k satisfies the minimum segment share; using the best silhouette anyway")
    return max(pool, key=lambda r: (r.silhouette, -r.k))


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
