"""Links between records that share a standardized strong identifier (email, phone).

A key shared by k records yields k-1 edges (a star around the smallest node), not k(k-1)/2
pairs. Keys shared by more than ``max_group`` records are not trusted and are reported.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def record_node(source: str = "source", record_id: str = "record_id") -> F.Column:
    """A record's graph node id: a 64-bit hash of (source, record id), stable across runs."""
    return F.xxhash64(F.col(source), F.col(record_id))


def exact_key_edges(records: DataFrame, keys: list[str], max_group: int) -> tuple[DataFrame, DataFrame]:
    """(edges src, dst, key; oversized key groups key, value, records) for ``records``
    with a ``node`` column and the ``keys`` columns."""
    edges, oversized = [], []
    for key in keys:
        valued = records.filter(F.col(key).isNotNull()).select("node", F.col(key).alias("value"))
        group = Window.partitionBy("value")
        sized = valued.withColumn("group_size", F.count(F.lit(1)).over(group)).withColumn("anchor", F.min("node").over(group))
        edges.append(
            sized.filter((F.col("group_size") <= max_group) & (F.col("node") != F.col("anchor")))
            .select(F.col("anchor").alias("src"), F.col("node").alias("dst"), F.lit(key).alias("key"))
        )
        oversized.append(
            sized.filter(F.col("group_size") > max_group).groupBy("value")
            .agg(F.count(F.lit(1)).alias("records")).select(F.lit(key).alias("key"), "value", "records")
        )
    all_edges, all_oversized = edges[0], oversized[0]
    for more_edges, more_oversized in zip(edges[1:], oversized[1:], strict=True):
        all_edges, all_oversized = all_edges.unionByName(more_edges), all_oversized.unionByName(more_oversized)
    return all_edges, all_oversized
