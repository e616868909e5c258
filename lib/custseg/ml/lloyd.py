"""Lloyd iterations on points held on the driver (numpy) or in Spark, one algorithm for both.

A step routes every point down a fixed tree of splits (at each split, to the nearer child: the
assignment bisecting k-means has made so far) to its current cluster; points whose cluster is
being refined then go to the nearest of that cluster's candidate centres (ties to the first),
and each candidate is summarized by its count, vector sum and sum of squared norms. Bisecting
k-means refines the two children of every cluster it divides; flat k-means has no splits and
one cluster (the root) whose candidates are all k centres. The driver sees only those
summaries, a few numbers per centre, whichever backend holds the points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pyspark import StorageLevel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

ROOT = 1
Centre = np.ndarray
# cluster -> (left child, its centre, right child, its centre): the splits made so far.
Splits = Mapping[int, tuple[int, Centre, int, Centre]]
# cluster being refined -> its candidate (id, centre) pairs; ids are unique.
Candidates = Mapping[int, Sequence[tuple[int, Centre]]]


@dataclass(frozen=True)
class Summary:
    count: int
    total: Centre          # vector sum
    squares: float         # sum of squared norms

    @property
    def centre(self) -> Centre:
        return self.total / self.count

    @property
    def cost(self) -> float:
        """Sum of squared distances to the centre (never below 0, whatever the rounding)."""
        return max(self.squares - float(self.total @ self.total) / self.count, 0.0)


class Points(Protocol):
    dimension: int
    rows: int

    def summarize(self, splits: Splits, candidates: Candidates) -> dict[int, Summary]:
        """Per candidate id: the summary of the points that chose it (ids no point chose are absent)."""

    def scatter(self, splits: Splits, clusters: Sequence[int]) -> dict[int, np.ndarray]:
        """Per cluster of ``clusters`` (leaves of ``splits``): the sum of the outer products of its points."""


def lloyd(points: Points, splits: Splits, candidates: Candidates, max_iterations: int,
          tolerance: float = 1e-9) -> dict[int, Summary]:
    """Assign the points, move each candidate centre to the mean of the points that chose it, and
    again, until no centre moves more than ``tolerance`` (relative to its norm) or the points were
    assigned ``max_iterations`` times; returns the summaries of the last assignment. A candidate
    no point chose keeps its centre and is absent from them."""
    current = {group: [(i, np.asarray(c, dtype=float)) for i, c in options] for group, options in candidates.items()}
    summaries = points.summarize(splits, current)
    for _ in range(max_iterations - 1):
        moved = False
        for options in current.values():
            for position, (i, centre) in enumerate(options):
                new = summaries[i].centre if i in summaries else centre
                moved = moved or float(np.sum((new - centre) ** 2)) > tolerance ** 2 * (1.0 + float(centre @ centre))
                options[position] = (i, new)
        if not moved:
            break
        summaries = points.summarize(splits, current)
    return summaries


class LocalPoints:
    """Points as a numpy matrix (a bounded sample, or a small frame collected whole)."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = np.asarray(matrix, dtype=float)
        self.rows, self.dimension = self.matrix.shape
        self._routed: tuple[frozenset[tuple[int, int, int, bytes, bytes]], np.ndarray] | None = None

    def clusters(self, splits: Splits) -> np.ndarray:
        """Each point's cluster: the leaf of ``splits`` it reaches, nearer child first on a tie."""
        key = frozenset((node, left, right, a.tobytes(), b.tobytes()) for node, (left, a, right, b) in splits.items())
        if self._routed is not None and self._routed[0] == key:
            return self._routed[1]
        cluster = np.full(self.rows, ROOT, dtype=np.int64)
        pending = [ROOT]
        while pending:
            node = pending.pop()
            if node not in splits:
                continue
            left, left_centre, right, right_centre = splits[node]
            here = cluster == node
            x = self.matrix[here]
            to_left = _squared(x, left_centre) <= _squared(x, right_centre)
            cluster[here] = np.where(to_left, left, right)
            pending += [left, right]
        self._routed = (key, cluster)
        return cluster

    def summarize(self, splits: Splits, candidates: Candidates) -> dict[int, Summary]:
        cluster = self.clusters(splits)
        result: dict[int, Summary] = {}
        for group, options in candidates.items():
            x = self.matrix[cluster == group]
            if not len(x):
                continue
            distances = np.stack([_squared(x, c) for _, c in options], axis=1)
            chosen = np.argmin(distances, axis=1)  # the first on a tie
            for position, (i, _) in enumerate(options):
                mine = x[chosen == position]
                if len(mine):
                    result[i] = Summary(len(mine), mine.sum(axis=0), float(np.sum(mine * mine)))
        return result

    def scatter(self, splits: Splits, clusters: Sequence[int]) -> dict[int, np.ndarray]:
        cluster = self.clusters(splits)
        return {c: x.T @ x for c in clusters for x in [self.matrix[cluster == c]]}


def _squared(x: np.ndarray, centre: Centre) -> np.ndarray:
    difference = x - centre
    return np.einsum("ij,ij->i", difference, difference)


class SparkPoints:
    """Points as a DataFrame column: every step is one aggregate, collected as a row per candidate."""

    def __init__(self, frame: DataFrame, vector: str):
        self.frame = frame.select(vector_to_array(F.col(vector)).alias("x")).persist(StorageLevel.MEMORY_AND_DISK)
        first = self.frame.agg(F.count(F.lit(1)).alias("rows"), F.max(F.size("x")).alias("dimension")).first()
        assert first is not None
        self.rows, self.dimension = int(first["rows"]), int(first["dimension"] or 0)

    def release(self) -> None:
        self.frame.unpersist()

    def summarize(self, splits: Splits, candidates: Candidates) -> dict[int, Summary]:
        x, cluster = F.col("x"), F.col("cluster")
        chosen: Column = F.lit(None).cast("long")
        for group, options in reversed(list(candidates.items())):
            distances = F.array(*[_distance(x, c, self.dimension) for _, c in options])
            ids = F.array(*[F.lit(int(i)).cast("long") for i, _ in options])
            nearest = F.element_at(ids, F.array_position(distances, F.array_min(distances)).cast("int"))
            chosen = F.when(cluster == F.lit(group), nearest).otherwise(chosen)
        rows = (_routed(self.frame, splits, self.dimension).select(chosen.alias("chosen"), "x")
                .filter(F.col("chosen").isNotNull())
                .groupBy("chosen").agg(F.count(F.lit(1)).alias("count"),
                                       *[F.sum(x[d]).alias(f"s{d}") for d in range(self.dimension)],
                                       F.sum(F.aggregate(x, F.lit(0.0), lambda acc, v: acc + v * v)).alias("squares"))
                .collect())  # a row per candidate centre
        return {int(r["chosen"]): Summary(int(r["count"]), np.array([float(r[f"s{d}"]) for d in range(self.dimension)]),
                                          float(r["squares"])) for r in rows}

    def scatter(self, splits: Splits, clusters: Sequence[int]) -> dict[int, np.ndarray]:
        x, d = F.col("x"), self.dimension
        pairs = [(i, j) for i in range(d) for j in range(i, d)]
        rows = (_routed(self.frame, splits, d).filter(F.col("cluster").isin(*[int(c) for c in clusters]))
                .groupBy("cluster").agg(*[F.sum(x[i] * x[j]).alias(f"p{i}_{j}") for i, j in pairs]).collect())
        result = {}
        for row in rows:
            products = np.zeros((d, d))
            for i, j in pairs:
                products[i, j] = products[j, i] = float(row[f"p{i}_{j}"])
            result[int(row["cluster"])] = products
        return result


def _distance(x: Column, centre: Centre, dimension: int) -> Column:
    terms = [(x[d] - F.lit(float(centre[d]))) * (x[d] - F.lit(float(centre[d]))) for d in range(dimension)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _routed(frame: DataFrame, splits: Splits, dimension: int) -> DataFrame:
    """``frame`` (column ``x``) with ``cluster``: the leaf of ``splits`` each point reaches. One
    projection per depth of the tree, each reading the last one's column, so no expression is
    copied into the next depth's."""
    x, cluster = F.col("x"), F.col("cluster")
    routed = frame.select("x", F.lit(ROOT).cast("long").alias("cluster"))
    level = [ROOT]
    while True:
        inner = [node for node in level if node in splits]
        if not inner:
            return routed
        step: Column = cluster
        for node in inner:
            left, left_centre, right, right_centre = splits[node]
            nearer = F.when(_distance(x, left_centre, dimension) <= _distance(x, right_centre, dimension),
                            F.lit(left)).otherwise(F.lit(right)).cast("long")
            step = F.when(cluster == F.lit(node), nearer).otherwise(step)
        routed = routed.select("x", step.alias("cluster"))
        level = [child for node in inner for child in (splits[node][0], splits[node][2])]
