"""Cluster measures on points held on the driver: nearest-centre assignment, cost, silhouette.

The silhouette is Spark's ``ClusteringEvaluator`` with ``distanceMeasure="squaredEuclidean"``
(and scikit-learn's ``silhouette_score(metric="sqeuclidean")``): a point's mean squared distance
to the points of a cluster is ``|x|^2 - 2 x.mean + mean of |y|^2``, so it costs a pass per
cluster, not a distance per pair of points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def nearest(matrix: np.ndarray, centres: Sequence[np.ndarray]) -> np.ndarray:
    """Index of each row's nearest centre (squared Euclidean; the lowest index on a tie)."""
    grid = np.asarray(centres, dtype=float)
    distances = (np.einsum("ij,ij->i", matrix, matrix)[:, None] - 2.0 * matrix @ grid.T
                 + np.einsum("ij,ij->i", grid, grid)[None, :])
    return np.argmin(distances, axis=1)


def cost(matrix: np.ndarray, labels: np.ndarray, centres: Sequence[np.ndarray]) -> float:
    """Sum of squared distances from each row to the centre of its cluster."""
    difference = matrix - np.asarray(centres, dtype=float)[labels]
    return float(np.einsum("ij,ij->", difference, difference))


def squared_silhouette(matrix: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of the grouping ``labels`` by squared Euclidean distance; a point alone
    in its cluster scores 0. Needs two clusters or more."""
    groups, index, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    if len(groups) < 2:
        raise ValueError("the silhouette needs at least two clusters")
    norms = np.einsum("ij,ij->i", matrix, matrix)
    means = np.stack([matrix[index == g].mean(axis=0) for g in range(len(groups))])
    mean_norms = np.array([norms[index == g].mean() for g in range(len(groups))])
    # Mean squared distance from each point to each cluster's points (itself included).
    to_cluster = np.maximum(norms[:, None] - 2.0 * matrix @ means.T + mean_norms[None, :], 0.0)
    own = sizes[index]
    within = to_cluster[np.arange(len(matrix)), index] * own / np.maximum(own - 1, 1)  # without itself
    others = to_cluster.copy()
    others[np.arange(len(matrix)), index] = np.inf
    between = others.min(axis=1)
    spread = np.maximum(within, between)
    scores = np.where((own > 1) & (spread > 0), (between - within) / np.where(spread > 0, spread, 1.0), 0.0)
    return float(scores.mean())
