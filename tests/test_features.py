"""Features from hand-built orders and events, every value worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.features import build_features
from custseg.features.engagement import engagement_spike
from custseg.features.profile import with_rfm_scores

AS_OF = dt.date(2026, 7, 1)


def _t(day: str, seconds: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day) + dt.timedelta(seconds=seconds)


@pytest.fixture
def features(spark: SparkSession, config: Config):  # type: ignore[no-untyped-def]
    master = spark.createDataFrame([
        ("A", dt.date(1990, 7, 1), "female", "GB", _t("2025-12-01")),
        ("B", None, None, None, _t("2026-06-01")),
        ("C", dt.date(1980, 1, 1), "male", "US", _t("2026-07-03")),   # first seen after the as-of date
        ("D", dt.date(2010, 1, 1), "male", "DE", _t("2024-01-01")),
    ], "customer_id string, birth_date date, gender string, country string, first_seen_at timestamp")
    orders = spark.createDataFrame([
        ("A", "O1", _t("2026-01-01"), "completed", False, Decimal("100.00")),
        ("A", "O2", _t("2026-04-15"), "completed", True, Decimal("50.00")),
        ("A", "O3", _t("2026-06-21"), "returned", False, Decimal("30.00")),
        ("A", "O4", _t("2026-06-25"), "cancelled", False, Decimal("999.00")),
        ("A", "O5", _t("2026-07-05"), "completed", False, Decimal("500.00")),   # after the as-of date
        ("D", "O9", _t("2025-05-01"), "completed", False, Decimal("20.00")),
    ], "customer_id string, order_id string, order_ts timestamp, status string, has_discount boolean, "
       "net_amount decimal(14,2)")
    orders = orders.selectExpr("*", "to_date(order_ts) as order_date")
    lines = spark.createDataFrame([
        ("O1", "electronics"), ("O1", "books"), ("O2", "books"), ("O3", "toys"), ("O4", "grocery"), ("O5", "home"),
        ("O9", "unknown"),
    ], "order_id string, category string")
    events = spark.createDataFrame([
        ("B", "S1", _t("2026-06-28", 0), "session_start"), ("B", "S1", _t("2026-06-28", 60), "product_view"),
        ("B", "S1", _t("2026-06-28", 120), "add_to_cart"),
        ("B", "S2", _t("2026-06-10", 0), "session_start"), ("B", "S2", _t("2026-06-10", 60), "page_view"),
        ("B", "S2", _t("2026-06-10", 120), "add_to_cart"), ("B", "S2", _t("2026-06-10", 300), "checkout"),
        ("B", "S3", _t("2026-02-01", 0), "session_start"),                       # older than 90 days
        ("B", "S4", _t("2026-07-02", 0), "session_start"),                       # after the as-of date
    ], "customer_id string, session_id string, event_ts timestamp, event_type string")
    events = events.selectExpr("*", "to_date(event_ts) as event_date")
    rows = build_features(master, orders, lines, events, AS_OF, config.features).collect()
    return {r.customer_id: r for r in rows}


def test_purchase_features(features) -> None:  # type: ignore[no-untyped-def]
    a = features["A"]
    assert (a.frequency, a.recency_days, a.monetary, a.avg_order_value) == (3, 10, 150.0, 75.0)
    assert (a.discount_rate, a.return_rate) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert a.interpurchase_days_mean == pytest.approx((104 + 67) / 2)
    assert a.interpurchase_days_std == pytest.approx(26.1630, abs=1e-4)
    assert a.category_breadth == 3          # electronics, books, toys; not the cancelled or later orders
    assert a.spend_90d == 50.0              # O2 only: O3 was returned, O1 is older
    assert a.spend_trend == pytest.approx(-50 / 8)
    assert a.frequency_x_aov == 225.0
    assert (a.tenure_days, a.age, a.age_band, a.gender, a.region) == (212, 36, "35-44", "female", "GB")
    assert a.lifecycle_stage == "active" and a.as_of_date == AS_OF


def test_engagement_features(features) -> None:  # type: ignore[no-untyped-def]
    b = features["B"]
    assert (b.sessions_90d, b.page_views_90d, b.cart_adds_90d, b.sessions_7d) == (2, 2, 2, 1)
    assert b.cart_abandonment_rate == 0.5
    assert b.avg_session_minutes_90d == pytest.approx(3.5)
    assert b.engagement_spike == pytest.approx(2.0)
    assert (b.frequency, b.monetary, b.recency_days, b.avg_order_value) == (0, 0.0, None, None)
    assert (b.lifecycle_stage, b.rfm_segment, b.r_score, b.age_band, b.gender, b.region) == (
        "prospect", "no_purchases", 0, "unknown", "unknown", "unknown")
    assert features["A"].sessions_90d == 0 and features["A"].engagement_spike == 1.0


def test_no_information_from_after_the_as_of_date(features) -> None:  # type: ignore[no-untyped-def]
    assert "C" not in features
    d = features["D"]
    assert (d.recency_days, d.lifecycle_stage, d.category_breadth, d.age_band) == (426, "churned", 0, "unknown")


def test_engagement_spike_is_one_without_activity(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(0, 0), (2, 8), (7, 0)], "s7 int, s28 int")
    values = [r.spike for r in frame.select(engagement_spike(frame.s7, frame.s28).alias("spike")).collect()]
    assert values == [pytest.approx(1.0), pytest.approx((2.5 / 7) / (10 / 28)), pytest.approx((7.5 / 7) / (2 / 28))]


def test_rfm_quintile_scores(spark: SparkSession) -> None:
    rows = [(f"c{i}", i, i, float(i * 10)) for i in range(1, 11)] + [("none", None, 0, 0.0)]
    frame = spark.createDataFrame(rows, "customer_id string, recency_days int, frequency int, monetary double")
    scored = {r.customer_id: (r.r_score, r.f_score, r.m_score, r.rfm_segment) for r in with_rfm_scores(frame).collect()}
    assert scored["c1"] == (5, 1, 1, "new")               # most recent, fewest orders, lowest spend
    assert scored["c10"] == (1, 5, 5, "cant_lose")        # long ago, many orders
    assert scored["c5"] == (3, 3, 3, "loyal")           # cut points 2, 4, 6, 8: value 5 is the third quintile
    assert scored["none"] == (0, 0, 0, "no_purchases")
    assert [scored[f"c{i}"][1] for i in range(1, 11)] == sorted(scored[f"c{i}"][1] for i in range(1, 11))
