"""Customer ids that stay put across runs.

Each new cluster is matched to the ids its records had in the previous crosswalk. An old id's
*home* is the cluster holding most of its records (ties: the cluster with the smallest node).
A cluster keeps the oldest id homed in it (by when the id was issued, then by id); a cluster
with no homed id gets a new one. Hence: unchanged clusters keep their id; when clusters merge
the oldest id survives; when a cluster splits, the part with most of its records keeps the id.
Every new, merged, split and retired id is reported, and ``customer_id_map`` lets any id ever
issued be followed to the id that holds its records now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def new_id(component: Column) -> Column:
    return F.concat(F.lit("CUST-"), F.lower(F.hex(component)))


def assign_ids(
    members: DataFrame, previous: DataFrame | None, issued_at: dt.datetime, issued: DataFrame | None = None
) -> DataFrame:
    """(component, customer_id, id_issued_at) for every component of ``members``
    (node, source, record_id, component); ``previous``: the last crosswalk (or the part of it
    whose records are in ``members``); ``issued``: every id issued before (default: previous's)."""
    components = members.select("component").distinct()
    now = F.lit(issued_at).cast("timestamp")
    if previous is None:
        return components.select("component", new_id(F.col("component")).alias("customer_id"),
                                 now.alias("id_issued_at"))
    homes = _homes(members, previous)
    kept = homes.groupBy("component").agg(F.min(F.struct("id_issued_at", "old_id")).alias("oldest")).select(
        "component", F.col("oldest.old_id").alias("kept_id"), F.col("oldest.id_issued_at").alias("kept_issued_at"))
    minted = new_id(F.col("component"))
    taken = (issued if issued is not None else previous).select(F.col("customer_id").alias("taken")).distinct()
    assigned = components.join(kept, "component", "left").join(taken, minted == F.col("taken"), "left")
    # A minted id equal to an id issued before (its records since moved) gets a run-specific one.
    fresh = F.when(F.col("taken").isNull(), minted).otherwise(
        F.concat(F.lit("CUST-"), F.lower(F.hex(F.xxhash64(F.col("component"), now.cast("string"))))))
    return assigned.select(
        "component", F.coalesce("kept_id", fresh).alias("customer_id"),
        F.coalesce("kept_issued_at", now).alias("id_issued_at"),
    )


def _homes(members: DataFrame, previous: DataFrame) -> DataFrame:
    """(old_id, component, id_issued_at): the component holding most records of each old id."""
    counts = (
        members.join(previous.select("source", "record_id", F.col("customer_id").alias("old_id"), "id_issued_at"),
                     ["source", "record_id"], "inner")
        .groupBy("old_id", "component")
        .agg(F.count(F.lit(1)).alias("records"), F.min("id_issued_at").alias("id_issued_at"))
    )
    best = Window.partitionBy("old_id").orderBy(F.col("records").desc(), F.col("component"))
    return counts.withColumn("rank", F.row_number().over(best)).filter("rank = 1").drop("rank", "records")


def identity_changes(members: DataFrame, previous: DataFrame | None, assigned: DataFrame, run_id: str) -> DataFrame:
    """Rows of identity_changes: new, merge, split and retired ids of this run."""
    current = members.join(assigned, "component").select("source", "record_id", "component", "customer_id")
    schema = ("run_id string, change_type string, customer_id string, related_ids array<string>, "
              "records_moved bigint, reason string")
    if previous is None:
        sizes = current.groupBy("customer_id").count()
        return sizes.select(F.lit(run_id).alias("run_id"), F.lit("new").alias("change_type"), "customer_id",
                            F.array().cast("array<string>").alias("related_ids"), F.col("count").alias("records_moved"),
                            F.lit("first resolution").alias("reason"))
    joined = current.join(previous.select("source", "record_id", F.col("customer_id").alias("old_id")),
                          ["source", "record_id"], "full")
    flows = joined.groupBy("customer_id", "old_id").agg(F.count(F.lit(1)).alias("records"))
    by_new = flows.filter(F.col("customer_id").isNotNull()).groupBy("customer_id").agg(
        F.array_sort(F.collect_set("old_id")).alias("old_ids"),
        F.sum(F.when(F.col("old_id").isNull() | (F.col("old_id") != F.col("customer_id")), F.col("records")))
        .alias("moved"),
        F.sum("records").alias("records"))
    by_old = flows.filter(F.col("old_id").isNotNull()).groupBy("old_id").agg(
        F.array_sort(F.collect_set("customer_id")).alias("new_ids"),
        F.max_by("customer_id", F.struct("records", "customer_id")).alias("successor"),
        F.sum(F.when(F.col("customer_id").isNull() | (F.col("customer_id") != F.col("old_id")), F.col("records")))
        .alias("moved"),
        F.max((F.col("customer_id") == F.col("old_id")).cast("int")).alias("kept"))
    run = F.lit(run_id).alias("run_id")
    issued_before = previous.select("customer_id").distinct()
    new = by_new.join(issued_before, "customer_id", "left_anti").select(
        run, F.lit("new").alias("change_type"), "customer_id",
        F.filter("old_ids", lambda x: x.isNotNull()).alias("related_ids"), F.col("moved").alias("records_moved"),
        F.when(F.size(F.filter("old_ids", lambda x: x.isNotNull())) == 0, F.lit("records not seen before"))
        .otherwise(F.lit("split off an existing customer")).alias("reason"))
    merged = by_new.filter(F.size("old_ids") > 1).select(
        run, F.lit("merge").alias("change_type"), "customer_id",
        F.col("old_ids").alias("related_ids"), F.col("moved").alias("records_moved"),
        F.lit("customers merged; the oldest id survives").alias("reason"))
    split = by_old.filter(F.size("new_ids") > 1).select(
        run, F.lit("split").alias("change_type"), F.col("old_id").alias("customer_id"),
        F.col("new_ids").alias("related_ids"), F.col("moved").alias("records_moved"),
        F.lit("customer split; most records keep the id").alias("reason"))
    # related_ids of a retired id: the id now holding most of its records (its successor).
    retired = by_old.filter(F.coalesce(F.col("kept"), F.lit(0)) == 0).select(
        run, F.lit("retired").alias("change_type"), F.col("old_id").alias("customer_id"),
        F.when(F.col("successor").isNotNull(), F.array("successor"))
        .otherwise(F.array().cast("array<string>")).alias("related_ids"),
        F.col("moved").alias("records_moved"),
        F.when(F.col("successor").isNull(), F.lit("all records deleted"))
        .otherwise(F.lit("merged into another customer")).alias("reason"))
    result = new.unionByName(merged).unionByName(split).unionByName(retired)
    return result.select(*[F.col(c.split()[0]) for c in schema.split(", ")])


def id_map(previous_map: DataFrame | None, changes: DataFrame, assigned: DataFrame, run_id: str) -> DataFrame:
    """Every id ever issued -> the id holding its records now (null when all were deleted).
    ``assigned``: the ids of this run; read only when there is no previous map."""
    retired = changes.filter(F.col("change_type") == "retired").select(
        F.col("customer_id").alias("id"),
        F.try_element_at("related_ids", F.lit(1)).alias("current"))  # successor or null
    if previous_map is None:
        active = assigned.select(F.col("customer_id").alias("id"), F.col("customer_id").alias("current"))
        mapped = active.unionByName(retired)
    else:
        # Every id current in the last map was active then, so it is active now or retired by
        # this run. Each earlier row follows this run's retirements (A -> B before, B retired
        # into C now: A -> C; an active id maps to itself, so a retired one takes its
        # successor), and ids issued this run join, in place of an earlier row if a cluster
        # took back the id it once had: only the changes are read, not every id.
        old = previous_map.select(F.col("customer_id").alias("id"), F.col("current_customer_id").alias("current"))
        moves = retired.select(F.col("id").alias("current"), F.col("current").alias("next"), F.lit(True).alias("moved"))
        followed = old.join(moves, "current", "left").select(
            "id", F.when(F.col("moved"), F.col("next")).otherwise(F.col("current")).alias("current"))
        issued = changes.filter(F.col("change_type") == "new").select(F.col("customer_id").alias("id"),
                                                                      F.col("customer_id").alias("current"))
        mapped = followed.join(issued.select("id"), "id", "left_anti").unionByName(issued)
    return mapped.select(
        F.col("id").alias("customer_id"), F.col("current").alias("current_customer_id"),
        F.when(F.col("current").isNull(), F.lit("deleted")).when(F.col("current") == F.col("id"), F.lit("active"))
        .otherwise(F.lit("merged")).alias("status"), F.lit(run_id).alias("as_of_run"),
    )


def follow_ids(frame: DataFrame, column: str, id_map_table: DataFrame) -> DataFrame:
    """``frame`` with ``column`` replaced by the current id (downstream tables after merges)."""
    mapping = id_map_table.select(F.col("customer_id").alias(column), F.col("current_customer_id").alias("__current"))
    return frame.join(mapping, column, "left").withColumn(column, F.coalesce("__current", column)).drop("__current")


@dataclass
class CarriedIds:
    """Customer ids of one run. Only the clusters built this run (all of them in a full run)
    are matched against the previous crosswalk; an incremental run keeps the rows of every
    cluster it left as it was."""

    rebuilt: DataFrame            # node, source, record_id, component, weakest_link of the clusters built
    previous: DataFrame | None    # source, record_id, customer_id, id_issued_at: their records' previous ids
    assigned: DataFrame           # component, customer_id, id_issued_at of the clusters built
    kept: DataFrame | None        # previous crosswalk rows of the clusters left as they were

    def all_ids(self) -> DataFrame:
        if self.kept is None:
            return self.assigned
        return self.assigned.unionByName(
            self.kept.select(F.col("cluster_node").alias("component"), "customer_id", "id_issued_at").distinct())


def carry_ids(members: DataFrame, previous_crosswalk: DataFrame | None, recomputed: DataFrame | None,
              now: dt.datetime) -> CarriedIds:
    """``members``: the records of the clusters built this run (every cluster in a full run),
    with their cluster; ``recomputed``: in an incremental run, the previous clusters rebuilt."""
    stored = StorageLevel.MEMORY_AND_DISK
    if previous_crosswalk is None:
        return CarriedIds(members, None, assign_ids(members, None, now).persist(stored), None)
    issued = previous_crosswalk.select("source", "record_id", "customer_id", "id_issued_at")
    if recomputed is None:
        return CarriedIds(members, issued, assign_ids(members, issued, now).persist(stored), None)
    # A cluster left as it was holds the same records, label, pairs and id as before; every
    # id that moves lives in the recomputed clusters, whose records are all revisited here.
    was_recomputed = recomputed.select(F.col("component").alias("cluster_node"))
    kept = previous_crosswalk.join(was_recomputed, "cluster_node", "left_anti").persist(stored)
    rebuilt = members.persist(stored)   # ids, crosswalk and changes all read it
    # ids, changes and golden records read it
    previous = previous_crosswalk.join(was_recomputed, "cluster_node", "left_semi").select(*issued.columns) \
        .persist(stored)
    assigned = assign_ids(rebuilt, previous, now, issued=issued).persist(stored)
    return CarriedIds(rebuilt, previous, assigned, kept)
