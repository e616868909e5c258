"""Connected components of a large graph, computed with DataFrames.

Method: the alternating Large-Star / Small-Star algorithm of Kiveris, Lattanzi, Mirrokni,
Rastogi and Vassilvitskii, "Connected Components in MapReduce and Beyond" (SoCC 2014). Each
round shrinks the graph towards stars around each component's smallest node id, and it
converges in O(log^2 n) rounds, unlike label propagation, whose rounds grow with the
diameter. Lineage is cut every round with a checkpoint, so plans stay small. Nodes are
long ids; every node ends up labelled with the smallest id of its component, so labels
are deterministic and do not depend on partitioning or on the order of the edges.

A graph of few edges (an incremental run's affected clusters, a small batch) is labelled on
the driver instead, with the same labels: its edges are collected once as Arrow and labelled
by a sparse-graph search, which costs less than the Spark jobs of even one round.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as sparse_components

from custseg.errors import CustsegError

log = logging.getLogger(__name__)


def connected_components(nodes: DataFrame, edges: DataFrame, max_iterations: int = 40,
                         local_max_edges: int = 0) -> DataFrame:
    """Label every node with its component: (node, component), component = min node id.

    Args:
        nodes: one column ``node`` (long); nodes without edges become singletons.
        edges: columns ``src`` and ``dst`` (long); direction and duplicates do not matter.
        max_iterations: rounds allowed before giving up with an error.
        local_max_edges: up to this many distinct edges the driver labels the graph; 0: never.
    """
    current = _canonical(edges.select(F.col("src").alias("u"), F.col("dst").alias("v")))
    current = current.checkpoint(eager=True)
    if local_max_edges > 0 and current.count() <= local_max_edges:
        return _with_singletons(nodes, _local_labels(current))
    for iteration in range(1, max_iterations + 1):
        after_large = _large_star(current).checkpoint(eager=True)
        after_small = _small_star(after_large).checkpoint(eager=True)
        changed = after_small.exceptAll(current).limit(1).count() + current.exceptAll(after_small).limit(1).count()
        current = after_small
        log.info("connected components: round %d, graph changed: %s", iteration, bool(changed))
        if not changed:
            break
    else:
        raise CustsegError(f"connected components did not converge in {max_iterations} rounds; "
                           "raise resolve.max_iterations")
    labels = current.select(F.col("u").alias("node"), F.col("v").alias("component"))
    roots = current.select(F.col("v").alias("node")).distinct().withColumn("component", F.col("node"))
    return _with_singletons(nodes, labels.unionByName(roots).dropDuplicates(["node"]))


def _with_singletons(nodes: DataFrame, labelled: DataFrame) -> DataFrame:
    """Every node of ``nodes`` with its label from ``labelled`` (node, component), or itself."""
    return nodes.select("node").distinct().join(labelled, on="node", how="left").select(
        "node", F.coalesce("component", "node").alias("component")
    )


def _local_labels(edges: DataFrame) -> DataFrame:
    """(node, component) of every node of ``edges`` (u, v), labelled on the driver."""
    table = edges.toArrow()
    if len(table) == 0:
        return edges.select(F.col("u").alias("node"), F.col("v").alias("component"))
    ends = np.concatenate([table.column("u").to_numpy(), table.column("v").to_numpy()])
    node_ids, index = np.unique(ends, return_inverse=True)
    half = len(table)
    graph = coo_matrix((np.ones(half, dtype=np.int8), (index[:half], index[half:])),
                       shape=(len(node_ids), len(node_ids)))
    _, component_of = sparse_components(graph, directed=False)
    # Components are numbered 0..k-1 and node_ids is sorted: the first node of each number is
    # its component's smallest.
    smallest = node_ids[np.unique(component_of, return_index=True)[1]]
    labels = pa.table({"node": pa.array(node_ids, pa.int64()),
                       "component": pa.array(smallest[component_of], pa.int64())})
    return edges.sparkSession.createDataFrame(labels)


def _canonical(edges: DataFrame) -> DataFrame:
    """Undirected edges as (larger, smaller), without self-loops or repeats."""
    return edges.filter(F.col("u") != F.col("v")).select(
        F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v")
    ).distinct()


def _large_star(edges: DataFrame) -> DataFrame:
    """Connect every neighbour larger than a node to the smallest node of its neighbourhood."""
    both = edges.unionByName(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.first("u")).alias("m"))
    linked = both.join(smallest, on="u", how="inner").filter(F.col("v") > F.col("u"))
    return _canonical(linked.select(F.col("v").alias("u"), F.col("m").alias("v")))


def _small_star(edges: DataFrame) -> DataFrame:
    """Connect every node and its smaller neighbours to the smallest of them."""
    smallest = edges.groupBy("u").agg(F.least(F.min("v"), F.first("u")).alias("m"))
    linked = edges.join(smallest, on="u", how="inner")
    pairs = linked.select(F.col("v").alias("u"), F.col("m").alias("v")).unionByName(
        linked.select("u", F.col("m").alias("v"))
    )
    return _canonical(pairs)
