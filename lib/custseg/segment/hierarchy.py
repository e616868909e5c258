"""The parent level of the segments: leaf segments merged bottom-up by Ward's criterion.

Bisecting k-means splits top-down, but Spark keeps the tree it built private. Merging the
leaves back up, each time the two groups whose union adds least to the within-group sum of
squares (Ward), gives a tree over the same leaves: every segment sits inside exactly one
parent, so a marketer can cut coarse or fine and the two cuts always agree. The tree is built
from the k centres and sizes, so it runs on the driver whatever the number of customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Partition = list[frozenset[int]]
MAX_AUTO_PARENTS = 5


def ward_levels(centres: Mapping[int, Sequence[float]], sizes: Mapping[int, int]) -> list[Partition]:
    """Partitions of the segments, from one group per segment down to a single group."""
    groups: dict[frozenset[int], tuple[np.ndarray, int]] = {
        frozenset([segment]): (np.asarray(centre, dtype=float), int(sizes[segment]))
        for segment, centre in centres.items()
    }
    levels = [_ordered(groups)]
    while len(groups) > 1:
        first, second = min(
            ((a, b) for a in groups for b in groups if min(a) < min(b)),
            key=lambda pair: (_merge_cost(groups[pair[0]], groups[pair[1]]), min(pair[0]), min(pair[1])),
        )
        (centre_a, size_a), (centre_b, size_b) = groups.pop(first), groups.pop(second)
        groups[first | second] = ((size_a * centre_a + size_b * centre_b) / (size_a + size_b), size_a + size_b)
        levels.append(_ordered(groups))
    return levels


def _merge_cost(a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]) -> float:
    """Increase of the within-group sum of squares when the two groups merge."""
    (centre_a, size_a), (centre_b, size_b) = a, b
    return float(size_a * size_b / (size_a + size_b) * np.sum((centre_a - centre_b) ** 2))


def _ordered(groups: Mapping[frozenset[int], object]) -> Partition:
    return sorted(groups, key=min)


def parent_candidates(levels: list[Partition], requested: int | None) -> list[Partition]:
    """Partitions worth offering as the parent level: ``requested`` groups, or (None) every
    count from 2 to min(k - 1, MAX_AUTO_PARENTS). With two or fewer segments the parents are
    the segments themselves."""
    k = len(levels[0])
    if k <= 2:
        return [levels[0]]
    by_size = {len(partition): partition for partition in levels}
    if requested is not None:
        return [by_size[min(max(requested, 1), k)]]
    return [by_size[count] for count in range(2, min(k - 1, MAX_AUTO_PARENTS) + 1)]


def parent_of(partition: Partition) -> dict[int, int]:
    """Segment -> its parent, named by the group's smallest segment."""
    return {segment: min(group) for group in partition for segment in group}
