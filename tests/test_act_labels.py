"""Point-in-time labels: a planted future order and session change labels but no feature."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from custseg.act import future_orders, labelled_snapshots, rolling_origins, with_label
from custseg.config.model import FeatureSettings, PropensitySettings

AS_OF = dt.date(2026, 3, 1)
SETTINGS = PropensitySettings(horizon_days=30, origins=2, origin_step_days=30)


def _inputs(spark: SparkSession, with_future: bool) -> tuple[DataFrame, DataFrame, DataFrame, DataFrame]:
    master = spark.createDataFrame(
        [("c1", dt.date(1980, 5, 1), "female", "US", dt.datetime(2025, 1, 1)),
         ("c2", dt.date(1990, 5, 1), "male", "GB", dt.datetime(2025, 2, 1))],
        "customer_id string, birth_date date, gender string, country string, first_seen_at timestamp")
    orders = [("c1", "o1", dt.datetime(2026, 1, 10, 12), dt.date(2026, 1, 10), "completed", False, 40.0),
              ("c2", "o2", dt.datetime(2026, 1, 20, 9), dt.date(2026, 1, 20), "completed", True, 25.0)]
    lines = [("o1", "books"), ("o2", "toys")]
    events = [("c1", "s1", dt.datetime(2026, 2, 20, 10), dt.date(2026, 2, 20), "product_view")]
    if with_future:  # on and after the as-of date: a big order in a new category, and a session
        orders.append(("c1", "o9", dt.datetime(2026, 3, 1, 0, 5), dt.date(2026, 3, 1), "completed", True, 9999.0))
        lines.append(("o9", "electronics"))
        events.append(("c1", "s9", dt.datetime(2026, 3, 2, 8), dt.date(2026, 3, 2), "add_to_cart"))
    return (master,
            spark.createDataFrame(orders, "customer_id string, order_id string, order_ts timestamp, order_date date, "
                                          "status string, has_discount boolean, net_amount double"),
            spark.createDataFrame(lines, "order_id string, category string"),
            spark.createDataFrame(events, "customer_id string, session_id string, event_ts timestamp, "
                                          "event_date date, event_type string"))


def _snapshot(spark: SparkSession, with_future: bool, target: str) -> DataFrame:
    return labelled_snapshots(*_inputs(spark, with_future), [AS_OF], FeatureSettings(), SETTINGS, target)


@pytest.mark.heavy
def test_planted_future_order_changes_the_label_and_no_feature(spark: SparkSession) -> None:
    planted = _snapshot(spark, True, "churn")
    clean = _snapshot(spark, False, "churn")
    features = [c for c in planted.columns if c != "label"]
    assert_df_equality(planted.select(features), clean.select(features), ignore_row_order=True)
    assert {r.customer_id: r.label for r in planted.collect()} == {"c1": 0.0, "c2": 1.0}
    assert {r.customer_id: r.label for r in clean.collect()} == {"c1": 1.0, "c2": 1.0}
    c1 = planted.filter("customer_id = 'c1'").first()
    assert (c1.frequency, c1.monetary, c1.recency_days, c1.category_breadth, c1.cart_adds_90d) == (1, 40.0, 50, 1, 0)


def test_purchase_label_and_category(spark: SparkSession) -> None:
    _, orders, lines, _ = _inputs(spark, True)
    assert {r.customer_id for r in future_orders(orders, lines, AS_OF, 30).collect()} == {"c1"}
    assert future_orders(orders, lines, AS_OF, 30, category="toys").count() == 0
    assert future_orders(orders, lines, AS_OF + dt.timedelta(days=1), 30).count() == 0  # the order is on the day before
    labels = {r.customer_id: r.label for r in _snapshot(spark, True, "purchase").collect()}
    assert labels == {"c1": 1.0, "c2": 0.0}


def test_churn_keeps_only_customers_who_bought_before(spark: SparkSession) -> None:
    features = spark.createDataFrame([("c1", 2), ("c3", 0)], "customer_id string, frequency int")
    future = spark.createDataFrame([("c3",)], "customer_id string")
    assert [(r.customer_id, r.label) for r in with_label(features, future, "churn").collect()] == [("c1", 1.0)]
    assert sorted((r.customer_id, r.label) for r in with_label(features, future, "purchase").collect()) == [
        ("c1", 0.0), ("c3", 1.0)]
    with pytest.raises(ValueError, match="unknown propensity target 'upsell'"):
        with_label(features, future, "upsell")


def test_rolling_origins_end_a_horizon_before_the_data() -> None:
    settings = PropensitySettings(horizon_days=90, origins=3, origin_step_days=30)
    expected = [dt.date(2026, 2, 1), dt.date(2026, 3, 3), dt.date(2026, 4, 2)]
    assert rolling_origins(dt.date(2026, 7, 1), settings) == expected


def test_propensity_settings_refuse_bad_values() -> None:
    with pytest.raises(ValueError, match="origins must be >= 2"):
        PropensitySettings(origins=1)
    with pytest.raises(ValueError, match=r"grid parameters \['depth'\]"):
        PropensitySettings(grid={"depth": [3]})
