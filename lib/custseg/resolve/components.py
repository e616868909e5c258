"""Connected components of a large graph, computed with DataFrames.

Method: the alternating Large-Star / Small-Star algorithm of Kiveris, Lattanzi, Mirrokni,
Rastogi and Vassilvitskii, "Connected Components in MapReduce and Beyond" (SoCC 2014). Each
round shrinks the graph towards stars around each component's smallest node id, and it
converges in O(log^2 n) rounds, unlike label propagation, whose rounds grow with the
diameter. Lineage is cut every round with a checkpoint, so plans stay small. Nodes are
long ids; every node ends up labelled with the smallest id of its component, so labels
are deterministic and do not depend on partitioning or on the order of the edges.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.errors import CustsegError

log = logging.getLogger(__name__)


def connected_components(nodes: DataFrame, edges: DataFrame, max_iterations: int = 40) -> DataFrame:
    """Label every node with its component: (node, component), component = min node id.

    Args:
        nodes: one column ``node`` (long); nodes without edges become singletons.
        edges: columns ``src`` and ``dst`` (long); direction and duplicates do not matter.
        max_iterations: rounds allowed before giving up with an error.
    """
    current = _canonical(edges.select(F.col("src").alias("u"), F.col("dst").alias("v")))
    current = current.checkpoint(eager=True)
    for iteration in range(1, max_iterations + 1):
        after_large = _large_star(current).checkpoint(eager=True)
        after_small = _small_star(after_large).checkpoint(eager=True)
        changed = after_small.exceptAll(current).limit(1).count() + current.exceptAll(after_small).limit(1).count()
        current = after_small
        log.info("connected components: round %d, graph changed: %s", iteration, bool(changed))
        if not changed:
            break
    else:
        raise CustsegError(f"connected components did not converge in {max_iterations} rounds; raise resolve.max_iterations")
    labels = current.select(F.col("u").alias("node"), F.col("v").alias("component"))
    roots = current.select(F.col("v").alias("node")).distinct().withColumn("component", F.col("node"))
    labelled = labels.unionByName(roots).dropDuplicates(["node"])
    return nodes.select("node").distinct().join(labelled, on="node", how="left").select(
        "node", F.coalesce("component", "node").alias("component")
    )


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
