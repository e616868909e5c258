"""Bisecting k-means, dividing clusters level by level as Spark's ``BisectingKMeans`` does
(Steinbach, Karypis and Kumar, "A comparison of document clustering techniques", 2000).

From the root (every point), each level divides every divisible cluster of the level in two at
once by 2-means; when fewer divisions are needed to reach k leaves than there are divisible
clusters, the largest are divided. A cluster is divisible when it holds some spread (its cost
is above rounding). A 2-means run's first assignment is the hyperplane through the cluster's
centre across the direction its two starts lie on; where that direction points decides which
local optimum the run ends in, and the greedy divisions above it decide the rest.

Departures from Spark's implementation:
- ``Starts`` choose that direction: across the cluster's principal axis (Boley's principal
  direction divisive partitioning, 1998) for restart 0, a random direction drawn from (seed,
  restart, cluster) for the others. Spark draws one offset in the positive orthant per division;
  on a pair of blobs an offset pointing across the pair cuts both blobs in half, a fixed point
  the iterations never leave. Several restarts, keeping for each k the fit that costs least (as
  k-means keeps the best of ``n_init`` runs), make such an end unlikely to be the answer;
- a level's 2-means stops once no centre moves (Spark runs ``maxIter`` iterations every level);
- a cluster divides the same way whichever others divide beside it, so one tree grown for the
  largest k holds the model of every smaller k (:meth:`BisectingTree.leaves`): a search over k
  is one fit per restart.
The points may be on the driver or in Spark (:mod:`custseg.ml.lloyd`); the tree is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from custseg.ml.lloyd import ROOT, Centre, Points, Summary, lloyd

EPSILON = float(np.finfo(float).eps)  # a cluster costing less per point holds no spread to divide
LEVEL_LIMIT = 62                      # cluster ids double each level and stay within a Spark long

# (cluster, its summary, the sum of its points' outer products) -> the two starts of its 2-means
Starts = Callable[[int, Summary, np.ndarray], tuple[Centre, Centre]]


@dataclass
class BisectingTree:
    """Every cluster summarized while growing, and the divisions made."""

    summaries: dict[int, Summary]
    children: dict[int, tuple[int, int]] = field(default_factory=dict)
    attempted: set[int] = field(default_factory=set)   # divisions tried, including those that failed

    def leaves(self, k: int) -> list[int] | None:
        """The clusters (ids, in tree order, left first) a fit for ``k`` would end with, or None
        when that fit needs a division this tree did not try (grown for a smaller k)."""
        needed, active, divided = k - 1, [ROOT], set()
        for _ in range(LEVEL_LIMIT):
            if not active or needed <= 0:
                break
            chosen = to_divide(active, self.summaries, needed)
            if any(node not in self.attempted for node in chosen):
                return None
            done = [node for node in chosen if node in self.children]
            divided.update(done)
            needed -= len(done)
            active = [child for node in done for child in self.children[node]]
        return _in_order(ROOT, divided, self.children)

    def centres(self, k: int) -> list[Centre] | None:
        leaves = self.leaves(k)
        return None if leaves is None else [self.summaries[leaf].centre for leaf in leaves]


def grow(points: Points, k: int, max_iterations: int, starts: Starts | None = None) -> BisectingTree:
    """Divide ``points`` into (at most) ``k`` clusters, each division starting from ``starts``
    (default: across the principal axis)."""
    starts = starts or principal_starts
    root = points.summarize({}, {ROOT: [(ROOT, np.zeros(points.dimension))]})
    if ROOT not in root:
        raise ValueError("bisecting k-means needs at least one point")
    tree = BisectingTree({ROOT: root[ROOT]})
    splits: dict[int, tuple[int, Centre, int, Centre]] = {}
    needed, active = k - 1, [ROOT]
    for _ in range(LEVEL_LIMIT):
        if not active or needed <= 0:
            break
        chosen = to_divide(active, tree.summaries, needed)
        if not chosen:
            break
        scatter = points.scatter(splits, chosen)
        candidates = {node: list(zip((2 * node, 2 * node + 1), starts(node, tree.summaries[node], scatter[node]),
                                     strict=True))
                      for node in chosen}
        found = lloyd(points, splits, candidates, max_iterations)
        tree.attempted.update(chosen)
        active = []
        for node in chosen:
            left, right = 2 * node, 2 * node + 1
            if left in found and right in found:  # else every point went one way: the cluster stays whole
                tree.summaries[left], tree.summaries[right] = found[left], found[right]
                tree.children[node] = (left, right)
                splits[node] = (left, found[left].centre, right, found[right].centre)
                active += [left, right]
                needed -= 1
    return tree


def to_divide(active: list[int], summaries: dict[int, Summary], needed: int) -> list[int]:
    """The clusters of a level to divide: the divisible ones, or the ``needed`` largest of them
    (ties: the lower id)."""
    divisible = [n for n in active if summaries[n].count > 1 and summaries[n].cost > EPSILON * summaries[n].count]
    if len(divisible) > needed:
        divisible = sorted(divisible, key=lambda n: (-summaries[n].count, n))[:needed]
    return sorted(divisible)


def _either_side(summary: Summary, scatter: np.ndarray, direction: np.ndarray) -> tuple[Centre, Centre]:
    """A standard deviation (of the cluster along ``direction``) either side of its centre."""
    centre = summary.centre
    covariance = scatter / summary.count - np.outer(centre, centre)
    unit = direction / (float(np.linalg.norm(direction)) or 1.0)
    offset = float(np.sqrt(max(float(unit @ covariance @ unit), 0.0))) * unit
    return centre - offset, centre + offset


def principal_starts(node: int, summary: Summary, scatter: np.ndarray) -> tuple[Centre, Centre]:
    """Across the axis of largest spread (pointing where its largest coordinate is positive)."""
    centre = summary.centre
    _, vectors = np.linalg.eigh(scatter / summary.count - np.outer(centre, centre))
    axis = vectors[:, -1]
    return _either_side(summary, scatter, axis if axis[np.argmax(np.abs(axis))] > 0 else -axis)


def random_starts(seed: int, restart: int) -> Starts:
    """Across a direction drawn uniformly on the sphere from (seed, restart, cluster)."""
    def starts(node: int, summary: Summary, scatter: np.ndarray) -> tuple[Centre, Centre]:
        rng = np.random.default_rng([seed & 0xFFFFFFFF, restart, node])
        return _either_side(summary, scatter, rng.standard_normal(len(summary.total)))
    return starts


def restart_starts(seed: int, restart: int) -> Starts:
    """The starts of restart ``restart``: 0 the principal axis, the others random directions."""
    return principal_starts if restart == 0 else random_starts(seed, restart)


def guided_starts(guide: BisectingTree, otherwise: Starts) -> Starts:
    """The centres ``guide`` found for a cluster's children (a fit on a sample of the same
    points), or ``otherwise`` for a cluster it did not divide: refits the guide's tree."""
    def starts(node: int, summary: Summary, scatter: np.ndarray) -> tuple[Centre, Centre]:
        if node in guide.children:
            left, right = guide.children[node]
            return guide.summaries[left].centre, guide.summaries[right].centre
        return otherwise(node, summary, scatter)
    return starts


def _in_order(node: int, divided: set[int], children: dict[int, tuple[int, int]]) -> list[int]:
    if node not in divided:
        return [node]
    left, right = children[node]
    return _in_order(left, divided, children) + _in_order(right, divided, children)
