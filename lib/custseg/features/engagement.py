"""Web/app engagement per customer from events before the as-of date: sessions, views, cart
behaviour and the short-term engagement spike (last 7 days against the 28 before)."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def engagement_features(events: DataFrame, as_of: dt.date) -> DataFrame:
    """``events``: customer_id, session_id, event_ts, event_date, event_type."""
    cutoff = F.lit(as_of)
    recent = events.filter((F.col("event_date") < cutoff) & (F.datediff(cutoff, "event_date") <= 90))
    sessions = recent.groupBy("customer_id", "session_id").agg(
        F.min("event_ts").alias("started"),
        F.max("event_ts").alias("ended"),
        F.count(F.when(F.col("event_type").isin("page_view", "product_view"), 1)).alias("views"),
        F.count(F.when(F.col("event_type") == "add_to_cart", 1)).alias("cart_adds"),
        F.max((F.col("event_type") == "checkout").cast("int")).alias("checked_out"),
    )
    days_ago = F.datediff(cutoff, F.to_date("started"))
    with_cart = F.col("cart_adds") > 0
    per_customer = sessions.groupBy("customer_id").agg(
        F.count(F.lit(1)).cast("int").alias("sessions_90d"),
        F.sum("views").cast("int").alias("page_views_90d"),
        F.avg((F.unix_seconds("ended") - F.unix_seconds("started")) / 60.0).alias("avg_session_minutes_90d"),
        F.sum("cart_adds").cast("int").alias("cart_adds_90d"),
        F.count(F.when(with_cart, 1)).alias("cart_sessions"),
        F.count(F.when(with_cart & (F.col("checked_out") == 0), 1)).alias("abandoned_sessions"),
        F.count(F.when(days_ago <= 7, 1)).cast("int").alias("sessions_7d"),
        F.count(F.when((days_ago > 7) & (days_ago <= 35), 1)).alias("sessions_prev_28d"),
    )
    return per_customer.select(
        "customer_id", "sessions_90d", "page_views_90d", "avg_session_minutes_90d", "cart_adds_90d",
        F.when(F.col("cart_sessions") > 0, F.col("abandoned_sessions") / F.col("cart_sessions"))
        .alias("cart_abandonment_rate"),
        "sessions_7d",
        engagement_spike(F.col("sessions_7d"), F.col("sessions_prev_28d")).alias("engagement_spike"),
    )


def engagement_spike(sessions_7d: F.Column, sessions_prev_28d: F.Column) -> F.Column:
    """Ratio of daily session rates, smoothed so that no activity in both windows gives 1.0."""
    return ((sessions_7d + 0.5) / 7.0) / ((sessions_prev_28d + 2.0) / 28.0)
