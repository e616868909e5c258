"""From the chosen clustering to labelled segments: stable ids, names, and the parent level.

Everything here works on per-segment aggregates (k rows), collected to the driver; the
customers themselves stay in Spark.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from custseg.columns import lookup
from custseg.config.model import FeatureSettings, SegmentSettings
from custseg.ml import SegmentLabeler
from custseg.ml.measures import nearest, squared_silhouette
from custseg.segment.continuity import Centre, IdCarryOver, carry_segment_ids
from custseg.segment.hierarchy import Partition, parent_candidates, parent_of, ward_levels
from custseg.segment.pipeline import PREDICTION, matching_column
from custseg.segment.profiles import name_segments, profile_segments

PARENT = "parent_cluster"


@dataclass
class LabelledSegments:
    labeler: SegmentLabeler
    carried: IdCarryOver
    centres: dict[int, dict[str, float]]   # cluster index -> centre in the matching space
    profiles: DataFrame                    # by cluster index (k rows)
    parent_count: int
    parent_silhouette: float | None


def previous_centres(profiles: DataFrame | None) -> tuple[dict[int, Centre], int]:
    """Segment id -> centre, and the first id never issued, from the last segment_profiles."""
    if profiles is None:
        return {}, 0
    if not {"centroid", "next_segment_id"} <= set(profiles.columns):
        # Profiles written before centres were kept: nothing to match, but never reuse an id.
        highest = profiles.agg(F.max("segment_id")).first()
        return {}, (int(highest[0]) + 1) if highest and highest[0] is not None else 0
    rows = profiles.select("segment_id", "centroid", "next_segment_id").collect()  # one row per segment
    centres: dict[int, Centre] = {int(r.segment_id): dict(r.centroid or {}) for r in rows}
    return centres, max((int(r.next_segment_id) for r in rows), default=0)


def label_segments(predicted: DataFrame, cluster_centres: list[Any], sample: np.ndarray, settings: SegmentSettings,
                   feature_settings: FeatureSettings, previous: DataFrame | None, run_id: str) -> LabelledSegments:
    """``predicted``: prepared customers with the cluster index; ``cluster_centres``: the
    clusterer's centres in its input space, by cluster index; ``sample``: the customers the k
    search saw (a row each, in that space), on which the parent level is scored."""
    matching = {f: matching_column(f) for f in settings.features}
    stats = predicted.groupBy(PREDICTION).agg(F.count(F.lit(1)).alias("customers"),
                                              *[F.avg(c).alias(f) for f, c in matching.items()]).collect()  # k rows
    sizes = {int(r[PREDICTION]): int(r.customers) for r in stats}
    centres = {int(r[PREDICTION]): {f: float(r[f]) for f in matching} for r in stats}
    spread = predicted.agg(*[F.stddev_pop(c).alias(f) for f, c in matching.items()]).first()
    assert spread is not None
    scale = {f: float(spread[f] or 0.0) or 1.0 for f in matching}
    earlier, next_id = previous_centres(previous)
    carried = carry_segment_ids(centres, earlier, scale, settings.match_max_distance, next_id)
    stable = carried.segment_ids

    partition, parent_silhouette = _parent_partition(sample, cluster_centres, sizes, settings)
    parent_cluster = parent_of(partition)
    parent_id = {cluster: min(stable[c] for group in partition if cluster in group for c in group) for cluster in sizes}

    computed = profile_segments(predicted, settings.features, run_id)
    rows = computed.collect()  # k rows, kept so the profile is aggregated once
    profiles = predicted.sparkSession.createDataFrame(rows, computed.schema)
    names = name_segments([r.asDict(recursive=True) for r in rows], feature_settings)
    parent_names = _parent_names(predicted, parent_cluster, names, settings, feature_settings, run_id)
    labels = {cluster: {"segment_id": stable[cluster], "segment_name": names[cluster],
                        "parent_segment_id": parent_id[cluster],
                        "parent_segment_name": parent_names[parent_cluster[cluster]]}
              for cluster in sorted(sizes)}
    labeler = SegmentLabeler(inputCol=PREDICTION, labels=labels)
    return LabelledSegments(labeler, carried, centres, profiles, len(partition), parent_silhouette)


def _parent_partition(sample: np.ndarray, cluster_centres: list[Any], sizes: dict[int, int],
                      settings: SegmentSettings) -> tuple[Partition, float | None]:
    """The parent level: among the Ward partitions offered, the best silhouette on the sample."""
    levels = ward_levels({c: list(cluster_centres[c]) for c in sizes}, sizes)
    candidates = parent_candidates(levels, settings.parent_segments)
    if len(candidates) == 1 and len(candidates[0]) == len(sizes):
        return candidates[0], None
    clusters = nearest(sample, [np.asarray(c, dtype=float) for c in cluster_centres])
    scored = []
    for partition in candidates:
        parents = parent_of(partition)
        grouping = np.array([parents.get(int(c), -1) for c in clusters])
        silhouette = squared_silhouette(sample, grouping) if len(np.unique(grouping)) > 1 else -1.0
        logging.getLogger(__name__).info("segment: %d parents, silhouette %.4f", len(partition), silhouette)
        scored.append((silhouette, -len(partition), partition))
    silhouette, _, best = max(scored, key=lambda item: (item[0], item[1]))
    return best, silhouette


def _parent_names(predicted: DataFrame, parent_cluster: dict[int, int], names: dict[int, str],
                  settings: SegmentSettings, feature_settings: FeatureSettings, run_id: str) -> dict[int, str]:
    """A parent holding one segment shares its name; the others are named from their own profile."""
    members: dict[int, list[int]] = {}
    for cluster, parent in parent_cluster.items():
        members.setdefault(parent, []).append(cluster)
    if all(len(m) == 1 for m in members.values()):
        return {parent: names[m[0]] for parent, m in members.items()}
    grouped = predicted.withColumn(PARENT, lookup(parent_cluster, F.col(PREDICTION)))
    rows: list[Row] = profile_segments(grouped, settings.features, run_id, by=PARENT).collect()  # one row per parent
    return name_segments([r.asDict(recursive=True) for r in rows], feature_settings, by=PARENT)
