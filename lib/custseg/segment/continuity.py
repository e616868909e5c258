"""Segment ids that stay comparable across runs.

Each run fits a new model whose cluster numbers mean nothing beyond that run. A segment's
identity is its centre: the mean of each model feature after the log transform and
imputation, a space that does not depend on the fitted scaler or PCA. The new centres are
matched one to one with the previous run's (Hungarian assignment on their distance, measured
in standard deviations of today's customers); a matched pair closer than
``segment.match_max_distance`` keeps the previous segment id, every other cluster gets an id
never issued before. Segment ids are therefore stable while the customer base drifts slowly,
and a genuinely new segment is visibly new.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

Centre = Mapping[str, float]


@dataclass(frozen=True)
class IdCarryOver:
    segment_ids: dict[int, int]            # cluster index -> segment id
    distances: dict[int, float | None]     # cluster index -> distance to the centre it took its id from
    next_segment_id: int                   # first id never issued


def centre_distance(a: Centre, b: Centre, scale: Mapping[str, float]) -> float:
    """Root mean square difference over the features both centres have, in units of ``scale``."""
    shared = sorted(set(a) & set(b))
    if not shared:
        return math.inf
    return math.sqrt(sum(((a[f] - b[f]) / (scale.get(f) or 1.0)) ** 2 for f in shared) / len(shared))


def carry_segment_ids(current: Mapping[int, Centre], previous: Mapping[int, Centre], scale: Mapping[str, float],
                      max_distance: float, next_segment_id: int) -> IdCarryOver:
    """Stable ids for this run's clusters (``current``: cluster index -> centre) given the
    previous run's segments (``previous``: segment id -> centre). Without a previous run the
    clusters are numbered from ``next_segment_id`` in cluster order."""
    clusters, earlier = sorted(current), sorted(previous)
    ids: dict[int, int] = {}
    distances: dict[int, float | None] = {}
    if clusters and earlier:
        cost = np.array([[centre_distance(current[c], previous[s], scale) for s in earlier] for c in clusters])
        finite = np.where(np.isfinite(cost), cost, 1e12)
        for row, column in zip(*linear_sum_assignment(finite), strict=True):
            if cost[row, column] <= max_distance:
                ids[clusters[row]] = earlier[column]
                distances[clusters[row]] = float(cost[row, column])
    issued = max([next_segment_id - 1, *earlier], default=-1) + 1
    for cluster in clusters:
        if cluster not in ids:
            ids[cluster], distances[cluster] = issued, None
            issued += 1
    return IdCarryOver(ids, distances, issued)
