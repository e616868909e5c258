"""Job `resolve`: source records into customers: `identity_crosswalk` and `customer_master`."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from custseg.config import Config
from custseg.resolve import connected_components, exact_key_edges, golden_records, record_node
from custseg.runtime import JobContext, JobResult, run_job

log = logging.getLogger(__name__)


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "resolve", _resolve, parent_run_id)


def customer_id(component: F.Column) -> F.Column:
    return F.concat(F.lit("CUST-"), F.lower(F.hex(component)))


def _resolve(ctx: JobContext) -> None:
    settings = ctx.config.resolve
    records = ctx.read("customer_records").withColumn("node", record_node())
    edges, oversized = exact_key_edges(records, settings.exact_keys, settings.max_key_group)
    edges = edges.checkpoint(eager=True)
    labels = connected_components(records.select("node"), edges, settings.max_iterations)
    members = _members(records, labels, edges)
    ctx.write("identity_crosswalk", members.select(
        "source", "record_id", "customer_id", "cluster_size", "link_keys", "min_link_probability"
    ))
    master = golden_records(
        members.withColumn("recency", F.coalesce("updated_at", "created_at")),
        settings.survivorship, settings.default_rule, settings.source_priority,
    )
    ctx.write("customer_master", master)
    _report_oversized(ctx, oversized)
    ctx.metrics["links"] = str(edges.count())
    ctx.metrics["customers"] = str(ctx.rows_out["customer_master"])


def _members(records: DataFrame, labels: DataFrame, edges: DataFrame) -> DataFrame:
    link_keys = (
        edges.select(F.col("src").alias("node"), "key").unionByName(edges.select(F.col("dst").alias("node"), "key"))
        .groupBy("node").agg(F.array_sort(F.collect_set("key")).alias("link_keys"))
    )
    joined = records.join(labels, on="node", how="inner").join(link_keys, on="node", how="left")
    cluster = Window.partitionBy("component")
    return joined.withColumns({
        "customer_id": customer_id(F.col("component")),
        "cluster_size": F.count(F.lit(1)).over(cluster).cast("int"),
        "link_keys": F.coalesce("link_keys", F.array().cast("array<string>")),
    }).withColumn(
        "min_link_probability", F.when(F.col("cluster_size") > 1, F.lit(1.0))  # exact keys are certain links
    )


def _report_oversized(ctx: JobContext, oversized: DataFrame) -> None:
    top = oversized.orderBy(F.col("records").desc()).limit(5).collect()
    ctx.metrics["oversized_key_groups"] = str(oversized.count())
    for row in top:
        log.warning("resolve: key %s value %r is shared by %d records; not used for linking",
                    row["key"], row["value"], row["records"])
