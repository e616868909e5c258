"""Implicit feedback for recommendations: product views, cart adds and purchased order lines,
each weighted from config and summed per customer and product over a time window."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

EVENT_KINDS = {"product_view": "product_view", "add_to_cart": "add_to_cart"}


def purchases(orders: DataFrame, lines: DataFrame, start: dt.date, end: dt.date) -> DataFrame:
    """customer_id, product_id, order_date of kept orders' lines in [start, end)."""
    kept = orders.filter((F.col("order_date") >= F.lit(start)) & (F.col("order_date") < F.lit(end))
                         & (F.col("status") != "cancelled"))
    return kept.select("order_id", "customer_id", "order_date").join(
        lines.select("order_id", "product_id"), on="order_id", how="inner").drop("order_id")


def interactions(orders: DataFrame, lines: DataFrame, events: DataFrame, start: dt.date, end: dt.date,
                 weights: dict[str, float]) -> DataFrame:
    """customer_id, product_id, weight: the weighted count of interactions in [start, end)."""
    in_window = (F.col("event_date") >= F.lit(start)) & (F.col("event_date") < F.lit(end))
    kinds = [k for k in EVENT_KINDS if k in weights]
    weight_of = F.lit(None).cast(T.DoubleType())
    for kind in kinds:
        weight_of = F.when(F.col("event_type") == kind, F.lit(weights[kind])).otherwise(weight_of)
    frames = []
    if kinds:
        frames.append(events.filter(in_window & F.col("event_type").isin(kinds) & F.col("product_id").isNotNull())
                      .select("customer_id", "product_id", weight_of.alias("weight")))
    if "purchase" in weights:
        frames.append(purchases(orders, lines, start, end).select(
            "customer_id", "product_id", F.lit(weights["purchase"]).alias("weight")))
    union = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    return union.groupBy("customer_id", "product_id").agg(F.sum("weight").alias("weight"))


def category_affinity(feedback: DataFrame, products: DataFrame, key: str) -> DataFrame:
    """``key``, category, affinity: each group's share of weight per category, scaled so that its
    favourite category is 1."""
    by_category = (feedback.join(products.select("product_id", "category"), on="product_id", how="inner")
                   .groupBy(key, "category").agg(F.sum("weight").alias("w")))
    top = by_category.groupBy(key).agg(F.max("w").alias("top"))
    affinity = (F.col("w") / F.col("top")).alias("affinity")
    return by_category.join(top, on=key, how="inner").select(key, "category", affinity)
