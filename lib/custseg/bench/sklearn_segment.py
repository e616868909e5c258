"""The segment stage's k search and final fit in scikit-learn: the single-machine anchor of
`custseg bench`.

The same work the segment job does (custseg.segment.selection), done the way a team with one
machine would: the prepared feature matrix (the job's own preprocessing pipeline, collected to
the driver) is sampled to ``segment.sample_size`` rows; scikit-learn's ``BisectingKMeans`` is
fitted for every k in [k_min, k_max] on the sample with ``restarts`` starts per bisection
(``n_init``), each scored by its silhouette over the sample with the squared Euclidean
distance (the job's measure), the smallest segment checked against ``min_segment_share``; the
best eligible silhouette wins, and its k is fitted again on every row when the sample is not
all of them (as the job grows its chosen fit again on all customers only then).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import SegmentSettings
from custseg.segment import preprocessing
from custseg.segment.pipeline import model_input


@dataclass
class Tried:
    k: int
    silhouette: float
    smallest_share: float
    eligible: bool


@dataclass
class Search:
    tried: list[Tried]
    best: Tried
    sample_rows: int
    search_seconds: float
    final_fit_seconds: float   # 0 when the sample held every row: the search's fit is the final one

    @property
    def seconds(self) -> float:
        return self.search_seconds + self.final_fit_seconds


def prepared_matrix(features: DataFrame, settings: SegmentSettings) -> np.ndarray:
    """``customer_features`` through the segment job's preprocessing pipeline, on the driver:
    a row per customer, the vector the clusterer reads."""
    prepared = preprocessing(settings).fit(features).transform(features)
    column = prepared.select(vector_to_array(F.col(model_input(settings))).alias("x")).toArrow().column("x")
    values = pa.concat_arrays([chunk.flatten() for chunk in column.chunks]) if column.num_chunks else pa.array([])
    rows = len(column)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=float).reshape(rows, -1 if rows else 0)


def search(matrix: np.ndarray, settings: SegmentSettings) -> Search:
    """The k search on a sample and the final fit, timed."""
    from sklearn.cluster import BisectingKMeans
    from sklearn.metrics import silhouette_score

    def fit(points: np.ndarray, k: int) -> np.ndarray:
        model = BisectingKMeans(n_clusters=k, n_init=settings.restarts, max_iter=settings.max_iterations,
                                random_state=settings.seed)
        return np.asarray(model.fit(points).labels_)

    started = time.perf_counter()
    complete = len(matrix) <= settings.sample_size
    rng = np.random.default_rng(settings.seed)
    sample = matrix if complete else matrix[rng.choice(len(matrix), settings.sample_size, replace=False)]
    tried = []
    for k in range(settings.k_min, settings.k_max + 1):
        labels = fit(sample, k)
        sizes = np.bincount(labels)
        found = int(np.count_nonzero(sizes))
        silhouette = float(silhouette_score(sample, labels, metric="sqeuclidean")) if found > 1 else -1.0
        smallest = float(sizes[sizes > 0].min()) / len(sample)
        tried.append(Tried(k, silhouette, smallest, found > 1 and smallest >= settings.min_segment_share))
    pool = [t for t in tried if t.eligible] or tried
    best = max(pool, key=lambda t: (t.silhouette, -t.k))
    searched = time.perf_counter()
    if complete:
        return Search(tried, best, len(sample), searched - started, 0.0)
    fit(matrix, best.k)
    return Search(tried, best, len(sample), searched - started, time.perf_counter() - searched)
