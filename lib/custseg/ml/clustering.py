"""Clustering stages whose segments are the nearest-centre (Voronoi) cells of their centres.

Spark's ``BisectingKMeansModel`` assigns a point by walking down the tree it built, taking
the closer child at each split, so a customer can land in a leaf whose centre is not the
nearest one: the partition is then not the one its centres, profiles and cost describe.
On generated customers that placement recovers the planted archetypes less well and gives
every k a lower silhouette. Both estimators here return a ``NearestCentreModel``, which
assigns each row to its nearest centre (squared Euclidean; ties to the lowest index) with
Spark's array functions, and keeps the centres in a Param so the model persists inside a
``PipelineModel``.

- ``NearestCentreBisectingKMeans``: bisecting k-means, level by level (custseg.ml.bisecting);
- ``NearestCentreKMeans``: k-means++ seeds, then Lloyd iterations.
A frame of at most ``driverRows`` rows is fitted on the driver (numpy), a larger one with one
Spark aggregate per iteration; both run the same algorithm (custseg.ml.lloyd). ``restarts``
fits from different starts and keeps the one that costs least, as scikit-learn's ``n_init``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.ml import Estimator, Model
from pyspark.ml.functions import vector_to_array
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasFeaturesCol, HasMaxIter, HasPredictionCol, HasSeed
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from sklearn.cluster import kmeans_plusplus

from custseg.ml.bisecting import BisectingTree, grow, guided_starts, principal_starts, restart_starts
from custseg.ml.lloyd import ROOT, Centre, LocalPoints, Points, SparkPoints, lloyd

DRIVER_ROWS = 100_000  # fitted on the driver up to this many rows (a few MB of doubles)
SEEDING_ROWS = 10_000  # k-means++ seeds come from at least this many rows (or all there are)


def _set_given(stage: Params, **values: Any) -> None:
    stage._set(**{name: value for name, value in values.items() if value is not None})


def squared_distances(vector: Column, centres: list[list[float]]) -> Column:
    """array<double>: the squared Euclidean distance from ``vector`` to each centre, in order."""
    point = vector_to_array(vector)
    matrix = F.array(*[F.array(*[F.lit(float(x)) for x in centre]) for centre in centres])
    return F.transform(matrix, lambda centre: F.aggregate(
        F.zip_with(point, centre, lambda a, b: (a - b) * (a - b)), F.lit(0.0), lambda total, x: total + x))


def nearest_index(distances: Column) -> Column:
    """0-based index of the smallest distance (the first one on a tie)."""
    return (F.array_position(distances, F.array_min(distances)) - 1).cast("int")


class NearestCentreModel(Model, HasFeaturesCol, HasPredictionCol, DefaultParamsReadable, DefaultParamsWritable):  # type: ignore[misc]
    """Adds ``predictionCol``: the index of the centre nearest to ``featuresCol``."""

    centres = Param(Params._dummy(), "centres", "cluster centres, one list of coordinates per cluster",
                    typeConverter=TypeConverters.toListListFloat)

    def __init__(self, *, featuresCol: str | None = None, predictionCol: str | None = None,
                 centres: list[list[float]] | None = None) -> None:
        super().__init__()
        _set_given(self, featuresCol=featuresCol, predictionCol=predictionCol, centres=centres)

    def clusterCenters(self) -> list[np.ndarray]:  # noqa: N802  (the name Spark's clustering models use)
        return [np.array(centre) for centre in self.getOrDefault(self.centres)]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        distances = squared_distances(F.col(self.getFeaturesCol()), self.getOrDefault(self.centres))
        return dataset.withColumn(self.getPredictionCol(), nearest_index(distances))


class _CentresEstimator(Estimator, HasFeaturesCol, HasPredictionCol, HasMaxIter, HasSeed,  # type: ignore[misc]
                        DefaultParamsReadable, DefaultParamsWritable):
    k = Param(Params._dummy(), "k", "the number of clusters to find (bisecting may find fewer)",
              typeConverter=TypeConverters.toInt)
    restarts = Param(Params._dummy(), "restarts", "fits from different starts; the one that costs least is kept",
                     typeConverter=TypeConverters.toInt)
    driverRows = Param(Params._dummy(), "driverRows", "frames of at most this many rows are fitted on the driver",
                       typeConverter=TypeConverters.toInt)

    def __init__(self, *, k: int = 4, featuresCol: str = "features", predictionCol: str = "prediction",
                 maxIter: int = 20, seed: int | None = None, restarts: int = 1, driverRows: int = DRIVER_ROWS) -> None:
        super().__init__()
        self._setDefault(k=4, featuresCol="features", predictionCol="prediction", maxIter=20, restarts=1,
                         driverRows=DRIVER_ROWS)
        _set_given(self, k=k, featuresCol=featuresCol, predictionCol=predictionCol, maxIter=maxIter, seed=seed,
                   restarts=restarts, driverRows=driverRows)

    def _fit(self, dataset: DataFrame) -> NearestCentreModel:
        limit = self.getOrDefault(self.driverRows)
        local = driver_matrix(dataset, self.getFeaturesCol(), limit)
        points: Points = LocalPoints(local) if local is not None else SparkPoints(dataset, self.getFeaturesCol())
        try:
            fits = [self._fit_once(points, dataset, restart) for restart in range(self.getOrDefault(self.restarts))]
        finally:
            if isinstance(points, SparkPoints):
                points.release()
        _, centres = min(fits, key=lambda fit: fit[0])  # the first of equal costs
        return centre_model(self.getFeaturesCol(), self.getPredictionCol(), centres)

    def _fit_once(self, points: Points, dataset: DataFrame, restart: int) -> tuple[float, list[Centre]]:
        """(cost, centres) of the fit from start ``restart``."""
        raise NotImplementedError


class NearestCentreBisectingKMeans(_CentresEstimator):
    """Bisecting k-means (custseg.ml.bisecting) for the centres; a ``NearestCentreModel`` for the
    assignment. Restart 0 divides across principal axes; the others across random directions."""

    def _fit_once(self, points: Points, dataset: DataFrame, restart: int) -> tuple[float, list[Centre]]:
        k = self.getOrDefault(self.k)
        tree = grow(points, k, self.getMaxIter(), restart_starts(self.getSeed(), restart))
        return tree_cost(tree, k), tree_centres(tree, k)


class NearestCentreKMeans(_CentresEstimator):
    """k-means: k-means++ seeds (from at most ``driverRows`` rows), then Lloyd iterations on all rows."""

    def _fit_once(self, points: Points, dataset: DataFrame, restart: int) -> tuple[float, list[Centre]]:
        k, seed = self.getOrDefault(self.k), self.getSeed() + restart
        if isinstance(points, LocalPoints):
            return kmeans_fit(points, points.matrix, k, self.getMaxIter(), seed)
        limit = max(self.getOrDefault(self.driverRows), SEEDING_ROWS)
        sample = dataset.sample(fraction=min(1.0, 1.2 * limit / points.rows), seed=seed)
        seeding = driver_matrix(sample.limit(limit), self.getFeaturesCol(), limit)
        assert seeding is not None  # at most limit rows
        return kmeans_fit(points, seeding, k, self.getMaxIter(), seed)


def centre_model(features: str, prediction: str, centres: list[Centre]) -> NearestCentreModel:
    return NearestCentreModel(featuresCol=features, predictionCol=prediction,
                              centres=[[float(x) for x in centre] for centre in centres])


def tree_centres(tree: BisectingTree, k: int) -> list[Centre]:
    centres = tree.centres(k)
    assert centres is not None  # a tree grown for k answers for k
    return centres


def tree_cost(tree: BisectingTree, k: int) -> float:
    """The cost of the k clusters a tree ends with: what restarts are compared by."""
    leaves = tree.leaves(k)
    assert leaves is not None
    return sum(tree.summaries[leaf].cost for leaf in leaves)


def kmeans_fit(points: Points, seeding: np.ndarray, k: int, max_iterations: int, seed: int,
               starts: list[Centre] | None = None) -> tuple[float, list[Centre]]:
    """(cost, centres) of Lloyd iterations on ``points`` from ``starts``, or from k-means++ seeds
    drawn among the rows of ``seeding``; a centre no point chose stays where it was."""
    if starts is None:
        distinct = len(np.unique(seeding, axis=0))
        drawn, _ = kmeans_plusplus(seeding, n_clusters=min(k, distinct), random_state=seed & 0xFFFFFFFF)
        starts = list(drawn)
    summaries = lloyd(points, {}, {ROOT: list(enumerate(starts))}, max_iterations)
    return (sum(s.cost for s in summaries.values()),
            [summaries[i].centre if i in summaries else start for i, start in enumerate(starts)])


def refit_in_spark(frame: DataFrame, vector: str, prediction: str, max_iterations: int,
                   guide: BisectingTree | None, k: int, centres: list[Centre]) -> NearestCentreModel:
    """A fit on every row of ``frame``, in Spark, from one made on a sample of it: bisecting
    k-means grows ``guide``'s tree again (each division starting from the sample's children),
    k-means iterates from ``centres``."""
    points = SparkPoints(frame, vector)
    try:
        if guide is not None:
            fitted = tree_centres(grow(points, k, max_iterations, guided_starts(guide, principal_starts)), k)
        else:
            _, fitted = kmeans_fit(points, np.zeros((0, 0)), k, max_iterations, 0, starts=centres)
    finally:
        points.release()
    return centre_model(vector, prediction, fitted)


def driver_matrix(frame: DataFrame, vector: str, limit: int) -> np.ndarray | None:
    """The vectors of ``frame`` as a numpy matrix (a row each) when it holds at most ``limit``
    rows, else None; one Spark job either way, which reads at most ``limit + 1`` rows."""
    table = frame.select(vector_to_array(F.col(vector)).alias("x")).limit(limit + 1).toArrow()
    if table.num_rows > limit:
        return None
    return arrow_matrix(table.column("x"))


def arrow_matrix(column: pa.ChunkedArray) -> np.ndarray:
    """A column of equal-length lists of doubles as a numpy matrix, a row per list."""
    values = column.combine_chunks()
    if not len(values):
        return np.zeros((0, 0))
    return values.flatten().to_numpy(zero_copy_only=False).reshape(len(values), -1)
