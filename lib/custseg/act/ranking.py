"""Offline ranking metrics at k: precision, recall and NDCG per customer, averaged overall and
per segment, with catalogue coverage; and the popularity baseline they are compared with.

NDCG uses binary relevance (bought in the holdout or not): DCG = sum over hits of
1 / log2(rank + 1), divided by the DCG of a perfect list of min(k, products bought) hits.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from custseg.act.recommend import Catalogue, popularity, recently_bought
from custseg.config.model import RecommendSettings


def ranking_metrics(recs: DataFrame, truth: DataFrame, customers: DataFrame, k: int, catalogue_size: int) -> DataFrame:
    """segment_id (null: all), customers, precision_at_k, recall_at_k, ndcg_at_k, coverage.

    Args:
        recs: customer_id, rank, product_id.
        truth: customer_id, product_id bought in the holdout (distinct).
        customers: customer_id, segment_id of the customers evaluated (those in ``truth``).
    """
    top = recs.select("customer_id", "rank", "product_id").filter(F.col("rank") <= k)
    hits = top.join(truth, ["customer_id", "product_id"], "inner").groupBy("customer_id").agg(
        F.count(F.lit(1)).alias("hits"), F.sum(1.0 / F.log2(F.col("rank") + 1.0)).alias("dcg"))
    relevant = truth.groupBy("customer_id").agg(F.count(F.lit(1)).alias("relevant"))
    ideal = F.aggregate(F.sequence(F.lit(1), F.least(F.lit(k), F.col("relevant"))), F.lit(0.0),
                        lambda acc, i: acc + 1.0 / F.log2(i + 1.0))
    per_customer = (customers.join(relevant, "customer_id", "inner").join(hits, "customer_id", "left")
                    .fillna({"hits": 0, "dcg": 0.0})
                    .select("customer_id", "segment_id", (F.col("hits") / k).alias("precision"),
                            (F.col("hits") / F.col("relevant")).alias("recall"), (F.col("dcg") / ideal).alias("ndcg")))
    shown = top.join(customers, "customer_id", "inner").select("segment_id", "product_id").distinct()
    aggregates = [F.count(F.lit(1)).alias("customers"), F.avg("precision").alias("precision_at_k"),
                  F.avg("recall").alias("recall_at_k"), F.avg("ndcg").alias("ndcg_at_k")]
    by_segment = per_customer.groupBy("segment_id").agg(*aggregates).join(
        shown.groupBy("segment_id").agg((F.count(F.lit(1)) / catalogue_size).alias("coverage")), "segment_id", "left")
    overall = per_customer.agg(*aggregates).crossJoin(
        shown.select("product_id").distinct().agg((F.count(F.lit(1)) / catalogue_size).alias("coverage")))
    return by_segment.unionByName(overall.withColumn("segment_id", F.lit(None).cast("int")))


def popularity_recs(feedback: DataFrame, customers: DataFrame, orders: DataFrame, lines: DataFrame, cat: Catalogue,
                    end: dt.date, settings: RecommendSettings) -> DataFrame:
    """The baseline: the most popular available products for everyone, under the same filters
    (nothing recently bought unless replenishable)."""
    popular = F.broadcast(popularity(feedback, cat, settings.top_n + settings.candidates))
    blocked = recently_bought(orders, lines, cat, end, settings)
    pairs = customers.select("customer_id").crossJoin(popular).join(blocked, ["customer_id", "product_id"], "left_anti")
    order = Window.partitionBy("customer_id").orderBy(F.desc("popularity"), "product_id")
    return pairs.withColumn("rank", F.row_number().over(order)).filter(F.col("rank") <= settings.top_n).select(
        "customer_id", "rank", "product_id")
