"""Bounded frames of the real-time decisions (``activations``) for notebooks.

Each result has at most one row per time bucket and status, reason, channel and campaign, or pair
of segments, so a notebook may call ``toPandas()`` on it.
"""

from __future__ import annotations

import math

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

NO_BATCH_SEGMENT = "(no batch segment)"
NO_CAMPAIGN = "(no campaign)"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def bucket_minutes(activations_df: DataFrame, buckets: int = 40) -> int:
    """Whole minutes per bucket that cut the event-time span of ``activations_df`` into at most
    ``buckets`` buckets (one aggregate row reaches the driver)."""
    span = activations_df.agg((F.max("event_time").cast("double") - F.min("event_time").cast("double"))
                              .alias("seconds")).first()
    seconds = 0.0 if span is None or span["seconds"] is None else float(span["seconds"])
    return max(1, math.ceil(seconds / 60 / buckets))


def over_event_time(activations_df: DataFrame, minutes: int) -> DataFrame:
    """Decisions per event-time bucket of ``minutes`` and status: bucket_start, status, decisions."""
    window = F.window("event_time", f"{minutes} minutes")
    return (activations_df.groupBy(window.start.alias("bucket_start"), "status")
            .agg(F.count(F.lit(1)).alias("decisions")))


def decisions_by_reason(activations_df: DataFrame) -> DataFrame:
    """Decisions per reason, status and suppression (null when activated)."""
    return activations_df.groupBy("reason", "status", "suppression").agg(F.count(F.lit(1)).alias("decisions"))


def channels_and_campaigns(activations_df: DataFrame) -> DataFrame:
    """Decisions per channel, campaign and status; a rule without a campaign is named NO_CAMPAIGN."""
    return (activations_df.withColumn("campaign", F.coalesce(F.col("campaign"), F.lit(NO_CAMPAIGN)))
            .groupBy("channel", "campaign", "status").agg(F.count(F.lit(1)).alias("decisions")))


def segment_crosstab(activations_df: DataFrame) -> DataFrame:
    """Decisions per real-time segment and batch segment (NO_BATCH_SEGMENT for an account not
    resolved to a segmented customer)."""
    batch = F.coalesce(F.col("batch_segment"), F.lit(NO_BATCH_SEGMENT)).alias("batch_segment")
    return activations_df.groupBy("realtime_segment", batch).agg(F.count(F.lit(1)).alias("decisions"))


def cart_value_summary(activations_df: DataFrame) -> DataFrame:
    """Cart value per real-time segment: decisions, mean and the approximate QUANTILES (array
    ``quantiles``), enough to draw a box per segment."""
    return activations_df.groupBy("realtime_segment").agg(
        F.count(F.lit(1)).alias("decisions"), F.avg("cart_value").alias("mean"),
        F.percentile_approx("cart_value", list(QUANTILES)).alias("quantiles"))
