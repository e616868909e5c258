"""Point-in-time labels over rolling origins, without leakage.

For each as-of date (an origin), features come from the ``features`` stage's own
``build_features``, which reads only orders and events strictly before that date; labels come
only from orders on or after it, within ``horizon_days``. Churn: a customer with an order
before the date places none in the horizon. Purchase: an order in the horizon (in one product
category, when configured). Several origins ``origin_step_days`` apart give enough labelled
rows; the latest one ends on the last day of data, so every label is fully observed.
"""

from __future__ import annotations

import datetime as dt
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import FeatureSettings, PropensitySettings
from custseg.features import build_features

LABEL = "label"


def rolling_origins(end_date: dt.date, settings: PropensitySettings) -> list[dt.date]:
    """As-of dates, oldest first; ``end_date`` is the first day after the data."""
    latest = end_date - dt.timedelta(days=settings.horizon_days)
    return [latest - dt.timedelta(days=settings.origin_step_days * i) for i in reversed(range(settings.origins))]


def future_orders(orders: DataFrame, lines: DataFrame, as_of: dt.date, horizon_days: int,
                  category: str | None = None) -> DataFrame:
    """customer_id of each customer with a kept order in [as_of, as_of + horizon)."""
    start, end = F.lit(as_of), F.lit(as_of + dt.timedelta(days=horizon_days))
    in_window = (F.col("order_date") >= start) & (F.col("order_date") < end)
    window = orders.filter(in_window & (F.col("status") != "cancelled"))
    if category is not None:
        in_category = lines.filter(F.col("category") == category).select("order_id")
        window = window.join(in_category, on="order_id", how="left_semi")
    return window.select("customer_id").distinct()


def with_label(features: DataFrame, future: DataFrame, target: str) -> DataFrame:
    """``label`` (double) for ``target``; churn keeps only customers who had bought before."""
    marked = features.join(future.withColumn("_future", F.lit(True)), on="customer_id", how="left")
    bought = F.col("_future").isNotNull()
    if target == "churn":
        labelled = marked.filter(F.col("frequency") > 0).withColumn(LABEL, (~bought).cast("double"))
    elif target == "purchase":
        labelled = marked.withColumn(LABEL, bought.cast("double"))
    else:
        raise ValueError(f"unknown propensity target {target!r}; known: churn, purchase")
    return labelled.drop("_future")


def feature_snapshots(master: DataFrame, orders: DataFrame, lines: DataFrame, events: DataFrame,
                      origins: list[dt.date], features: FeatureSettings) -> DataFrame:
    """``build_features`` as of each origin, one row per customer and origin (``as_of_date``)."""
    return reduce(DataFrame.unionByName, [build_features(master, orders, lines, events, as_of, features)
                                          for as_of in origins])


def with_labels(snapshots: DataFrame, orders: DataFrame, lines: DataFrame, origins: list[dt.date],
                settings: PropensitySettings, target: str) -> DataFrame:
    """Each origin's rows of ``snapshots`` labelled from the orders in the horizon after it."""
    return reduce(DataFrame.unionByName, [
        with_label(snapshots.filter(F.col("as_of_date") == F.lit(as_of)),
                   future_orders(orders, lines, as_of, settings.horizon_days, settings.category), target)
        for as_of in origins])


def labelled_snapshots(master: DataFrame, orders: DataFrame, lines: DataFrame, events: DataFrame,
                       origins: list[dt.date], features: FeatureSettings, settings: PropensitySettings,
                       target: str) -> DataFrame:
    """Features as of each origin with the label after it, one row per customer and origin."""
    snapshots = feature_snapshots(master, orders, lines, events, origins, features)
    return with_labels(snapshots, orders, lines, origins, settings, target)
