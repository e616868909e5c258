"""Assemble ``customer_features`` from resolved customers, their orders and their events."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import FeatureSettings
from custseg.features.engagement import engagement_features
from custseg.features.profile import lifecycle_stage, with_demographics, with_rfm_scores
from custseg.features.purchases import purchase_features

ZERO_WHEN_ABSENT = ("frequency", "monetary", "category_breadth", "spend_90d", "sessions_90d", "page_views_90d",
                    "cart_adds_90d", "sessions_7d")


def default_as_of(orders: DataFrame, events: DataFrame) -> dt.date:
    """The day after the latest order or event: features then see all the data."""
    latest = orders.select(F.max("order_date").alias("d")).unionByName(events.select(F.max("event_date").alias("d")))
    row = latest.agg(F.max("d")).first()
    if row is None or row[0] is None:
        return dt.date.today()
    return row[0] + dt.timedelta(days=1)


def build_features(master: DataFrame, orders: DataFrame, lines: DataFrame, events: DataFrame,
                   as_of: dt.date, settings: FeatureSettings) -> DataFrame:
    """One row per customer first seen before ``as_of``.

    Args:
        master: customer_id, birth_date, gender, country, first_seen_at.
        orders: orders_clean joined to customer_id.
        lines: order_lines_clean.
        events: events_clean joined to customer_id.
    """
    cutoff = F.lit(as_of)
    known = master.filter(F.to_date("first_seen_at") < cutoff)
    purchases = purchase_features(orders, lines, as_of)
    engagement = engagement_features(events, as_of)
    first_order = (orders.filter(F.col("order_date") < cutoff).groupBy("customer_id")
                   .agg(F.min("order_date").alias("first_order")))
    joined = (
        known.select("customer_id", "birth_date", "gender", "country", F.to_date("first_seen_at").alias("first_seen"))
        .join(purchases, on="customer_id", how="left")
        .join(engagement, on="customer_id", how="left")
        .join(first_order, on="customer_id", how="left")
    )
    filled = joined.fillna(0, subset=list(ZERO_WHEN_ABSENT)).withColumns({
        "tenure_days": F.datediff(cutoff, F.least("first_seen", F.coalesce("first_order", "first_seen"))).cast("int"),
        "engagement_spike": F.coalesce("engagement_spike", F.lit(1.0)),
        "frequency_x_aov": F.col("frequency") * F.col("avg_order_value"),
        "as_of_date": cutoff,
    })
    profiled = with_demographics(filled, as_of).withColumn("lifecycle_stage", lifecycle_stage(settings))
    return with_rfm_scores(profiled).drop("birth_date", "country", "first_seen", "first_order")
