"""Purchase features per customer from orders before the as-of date: RFM, intervals, breadth,
discount and return rates, recent spend and its trend."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

TREND_WEEKS = 8


def purchase_features(orders: DataFrame, lines: DataFrame, as_of: dt.date) -> DataFrame:
    """``orders``: customer_id, order_id, order_ts, order_date, status, has_discount, net_amount.
    ``lines``: order_id, category. Cancelled orders are ignored; monetary counts completed ones."""
    cutoff = F.lit(as_of)
    kept = orders.filter((F.col("order_date") < cutoff) & (F.col("status") != "cancelled"))
    completed = F.col("status") == "completed"
    # Spend counts completed orders only: returned ones were refunded.
    net_amount = F.coalesce(F.col("net_amount").cast("double"), F.lit(0.0))
    net = F.when(F.col("status") == "completed", net_amount).otherwise(0.0)
    weeks_ago = F.floor(F.datediff(cutoff, F.col("order_date")) / 7)
    totals = kept.groupBy("customer_id").agg(
        F.max("order_date").alias("last_order_date"),
        F.count(F.lit(1)).cast("int").alias("frequency"),
        F.sum(net).alias("monetary"),
        F.count(F.when(completed, 1)).alias("completed_orders"),
        F.avg(F.col("has_discount").cast("double")).alias("discount_rate"),
        F.avg((F.col("status") == "returned").cast("double")).alias("return_rate"),
        F.sum(F.when(F.datediff(cutoff, "order_date") <= 90, net).otherwise(0.0)).alias("spend_90d"),
        (F.sum(F.when(weeks_ago < TREND_WEEKS, net).otherwise(0.0)) / TREND_WEEKS
         - F.sum(F.when((weeks_ago >= TREND_WEEKS) & (weeks_ago < 2 * TREND_WEEKS), net).otherwise(0.0)) / TREND_WEEKS
         ).alias("spend_trend"),
    )
    previous = F.lag("order_ts").over(Window.partitionBy("customer_id").orderBy("order_ts", "order_id"))
    gaps = (
        kept.withColumn("gap_days", (F.unix_seconds("order_ts") - F.unix_seconds(previous)) / 86400.0)
        .groupBy("customer_id")
        .agg(F.avg("gap_days").alias("interpurchase_days_mean"),
             F.stddev_samp("gap_days").alias("interpurchase_days_std"))
    )
    breadth = (
        kept.select("customer_id", "order_id").join(lines.select("order_id", "category"), on="order_id", how="inner")
        .filter(F.col("category") != "unknown")
        .groupBy("customer_id").agg(F.count_distinct("category").cast("int").alias("category_breadth"))
    )
    return (
        totals.join(gaps, on="customer_id", how="left").join(breadth, on="customer_id", how="left")
        .withColumns({
            "recency_days": F.datediff(cutoff, "last_order_date").cast("int"),
            "avg_order_value": F.when(F.col("completed_orders") > 0, F.col("monetary") / F.col("completed_orders")),
        })
        .drop("last_order_date", "completed_orders")
    )
