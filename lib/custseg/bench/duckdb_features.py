"""The `features` stage's aggregates in DuckDB SQL: the single-machine anchor of `custseg bench`.

What a team without Spark would write: one SQL query over the same Delta tables (DuckDB's
``delta`` extension reads their current version), giving per customer the purchase figures
(RFM, intervals, breadth, discount and return rates, recent spend and its trend), the
engagement windows (sessions, views, carts, the 7-day spike), demographics, the lifecycle
stage and the RFM scores, as ``custseg.features.build_features`` does. The treatment of
missing values and extremes (kNN imputation, winsorizing, the isolation forest) is not part
of it. ``tests/test_bench_anchors.py`` holds the two to the same values.

Spark's semantics are kept where SQL dialects part: ``datediff`` in days, ``unix_seconds``
floored to whole seconds, ``months_between`` (a whole number of months when the days of the
month agree or both are month ends, else 31-day months), dates of timestamps in UTC, and
quintile cut points at rank ceil(q n) of the buyers' values (``quantile_disc``; Spark's
``approxQuantile`` finds the same ranks exactly on small data and within 0.1% of them on large).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from custseg.config.model import FeatureSettings
from custseg.errors import CustsegError

# The tables the query reads: the silver tables and the resolved customers.
TABLES = ("identity_crosswalk", "customer_master", "orders_clean", "order_lines_clean", "events_clean")
TREND_WEEKS = 8
AGE_BANDS = ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64))
QUINTILES = "[0.2, 0.4, 0.6, 0.8]"


def connect() -> Any:
    """DuckDB in UTC with its delta extension, loaded from the ``duckdb-ext-delta`` package
    (no network); a missing package says what to install."""
    try:
        import duckdb
        import duckdb_ext
    except ImportError as missing:
        raise CustsegError(f"the DuckDB anchor needs {missing.name}: install the dev extra "
                           "(pip install -e '.[dev]' with requirements/constraints.txt)") from None
    directory = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
    connection = duckdb.connect(config={"extension_directory": directory, "autoinstall_known_extensions": False,
                                        "autoload_known_extensions": False})
    connection.execute("LOAD delta")
    connection.execute("SET TimeZone = 'UTC'")  # dates of timestamps as Spark's session (UTC) gives them
    connection.execute(
        "CREATE OR REPLACE MACRO spark_months_between(a, b) AS "
        "(year(a) - year(b)) * 12 + (month(a) - month(b)) + CASE WHEN day(a) = day(b) "
        "OR (a = last_day(a) AND b = last_day(b)) THEN 0 ELSE (day(a) - day(b)) / 31.0 END")
    return connection


def _scan(paths: dict[str, str], table: str) -> str:
    return "delta_scan('{}')".format(paths[table].replace("'", "''"))


def default_as_of(connection: Any, paths: dict[str, str]) -> dt.date:
    """The day after the latest order or event (today when there is none), as the stage's default."""
    row = connection.execute(
        f"SELECT GREATEST((SELECT MAX(order_date) FROM {_scan(paths, 'orders_clean')}), "
        f"(SELECT MAX(event_date) FROM {_scan(paths, 'events_clean')}))").fetchone()
    latest = row[0] if row else None
    return dt.date.today() if latest is None else latest + dt.timedelta(days=1)


def _score(column: str, cuts: str, higher_is_better: bool) -> str:
    """1-5 by quintile cut points (ties at a cut go to the lower quintile), 0 without orders."""
    rank = " ".join(f"WHEN {column} <= {cuts}[{i}] THEN {i}" for i in range(1, 5))
    quintile = f"CASE WHEN {cuts} IS NULL THEN NULL {rank} ELSE 5 END"
    return f"CASE WHEN frequency > 0 THEN {quintile if higher_is_better else f'6 - {quintile}'} ELSE 0 END"


def _purchases(paths: dict[str, str], cutoff: str) -> str:
    weeks_ago = f"FLOOR(DATE_DIFF('day', order_date, {cutoff}) / 7)"
    return f"""
kept AS (
  SELECT *, CASE WHEN status = 'completed' THEN COALESCE(CAST(net_amount AS DOUBLE), 0.0) ELSE 0.0 END AS net,
         {weeks_ago} AS weeks_ago
  FROM orders WHERE order_date < {cutoff} AND status <> 'cancelled'),
totals AS (
  SELECT customer_id, MAX(order_date) AS last_order_date, CAST(COUNT(*) AS INTEGER) AS frequency,
         SUM(net) AS monetary, COUNT(*) FILTER (WHERE status = 'completed') AS completed_orders,
         AVG(CAST(has_discount AS DOUBLE)) AS discount_rate, AVG(CAST(status = 'returned' AS DOUBLE)) AS return_rate,
         SUM(CASE WHEN DATE_DIFF('day', order_date, {cutoff}) <= 90 THEN net ELSE 0.0 END) AS spend_90d,
         SUM(CASE WHEN weeks_ago < {TREND_WEEKS} THEN net ELSE 0.0 END) / {TREND_WEEKS}
           - SUM(CASE WHEN weeks_ago >= {TREND_WEEKS} AND weeks_ago < {2 * TREND_WEEKS} THEN net ELSE 0.0 END)
             / {TREND_WEEKS} AS spend_trend
  FROM kept GROUP BY customer_id),
gaps AS (
  SELECT customer_id, AVG(gap_days) AS interpurchase_days_mean, STDDEV_SAMP(gap_days) AS interpurchase_days_std
  FROM (SELECT customer_id, (unix_s - LAG(unix_s) OVER (PARTITION BY customer_id ORDER BY order_ts, order_id))
               / 86400.0 AS gap_days
        FROM (SELECT *, EPOCH_US(order_ts) // 1000000 AS unix_s FROM kept))
  GROUP BY customer_id),
breadth AS (
  SELECT k.customer_id, CAST(COUNT(DISTINCT l.category) AS INTEGER) AS category_breadth
  FROM kept k JOIN {_scan(paths, 'order_lines_clean')} l ON k.order_id = l.order_id
  WHERE l.category <> 'unknown' GROUP BY k.customer_id),
purchases AS (
  SELECT t.customer_id, frequency, monetary, discount_rate, return_rate, spend_90d, spend_trend,
         interpurchase_days_mean, interpurchase_days_std, category_breadth,
         CAST(DATE_DIFF('day', last_order_date, {cutoff}) AS INTEGER) AS recency_days,
         CASE WHEN completed_orders > 0 THEN monetary / completed_orders END AS avg_order_value
  FROM totals t LEFT JOIN gaps g ON t.customer_id = g.customer_id
  LEFT JOIN breadth b ON t.customer_id = b.customer_id),
first_orders AS (
  SELECT customer_id, MIN(order_date) AS first_order FROM orders WHERE order_date < {cutoff} GROUP BY customer_id)"""


def _engagement(cutoff: str) -> str:
    days_ago = f"DATE_DIFF('day', CAST(started AS DATE), {cutoff})"
    return f"""
sessions AS (
  SELECT customer_id, session_id, MIN(event_ts) AS started, MAX(event_ts) AS ended,
         COUNT(*) FILTER (WHERE event_type IN ('page_view', 'product_view')) AS views,
         COUNT(*) FILTER (WHERE event_type = 'add_to_cart') AS cart_adds,
         MAX(CAST(event_type = 'checkout' AS INTEGER)) AS checked_out
  FROM events WHERE event_date < {cutoff} AND DATE_DIFF('day', event_date, {cutoff}) <= 90
  GROUP BY customer_id, session_id),
per_customer AS (
  SELECT customer_id, CAST(COUNT(*) AS INTEGER) AS sessions_90d, CAST(SUM(views) AS INTEGER) AS page_views_90d,
         AVG((EPOCH_US(ended) // 1000000 - EPOCH_US(started) // 1000000) / 60.0) AS avg_session_minutes_90d,
         CAST(SUM(cart_adds) AS INTEGER) AS cart_adds_90d,
         COUNT(*) FILTER (WHERE cart_adds > 0) AS cart_sessions,
         COUNT(*) FILTER (WHERE cart_adds > 0 AND checked_out = 0) AS abandoned_sessions,
         CAST(COUNT(*) FILTER (WHERE {days_ago} <= 7) AS INTEGER) AS sessions_7d,
         COUNT(*) FILTER (WHERE {days_ago} > 7 AND {days_ago} <= 35) AS sessions_prev_28d
  FROM sessions GROUP BY customer_id),
engagement AS (
  SELECT customer_id, sessions_90d, page_views_90d, avg_session_minutes_90d, cart_adds_90d,
         CASE WHEN cart_sessions > 0 THEN abandoned_sessions / cart_sessions END AS cart_abandonment_rate,
         sessions_7d, ((sessions_7d + 0.5) / 7.0) / ((sessions_prev_28d + 2.0) / 28.0) AS engagement_spike
  FROM per_customer)"""


def _profile(settings: FeatureSettings, cutoff: str) -> str:
    age = f"CAST(FLOOR(spark_months_between({cutoff}, birth_date) / 12) AS INTEGER)"
    bands = " ".join(f"WHEN age <= {high} THEN '{low}-{high}'" for low, high in AGE_BANDS)
    zero = ", ".join(f"COALESCE({c}, 0) AS {c}" for c in ("frequency", "monetary", "category_breadth", "spend_90d",
                                                          "sessions_90d", "page_views_90d", "cart_adds_90d",
                                                          "sessions_7d"))
    return f"""
joined AS (
  SELECT m.customer_id, m.birth_date, m.gender, m.country, CAST(m.first_seen_at AS DATE) AS first_seen,
         p.* EXCLUDE (customer_id, frequency, monetary, category_breadth, spend_90d),
         e.* EXCLUDE (customer_id, sessions_90d, page_views_90d, cart_adds_90d, sessions_7d, engagement_spike),
         f.first_order, e.engagement_spike, {zero}
  FROM (SELECT * FROM master WHERE CAST(first_seen_at AS DATE) < {cutoff}) m
  LEFT JOIN purchases p ON m.customer_id = p.customer_id
  LEFT JOIN engagement e ON m.customer_id = e.customer_id
  LEFT JOIN first_orders f ON m.customer_id = f.customer_id),
filled AS (
  SELECT * EXCLUDE (engagement_spike, gender, age),
         CAST(DATE_DIFF('day', LEAST(first_seen, COALESCE(first_order, first_seen)), {cutoff}) AS INTEGER)
           AS tenure_days,
         COALESCE(engagement_spike, 1.0) AS engagement_spike, frequency * avg_order_value AS frequency_x_aov,
         {cutoff} AS as_of_date, CASE WHEN age BETWEEN 0 AND 120 THEN age END AS age,
         COALESCE(gender, 'unknown') AS gender, COALESCE(country, 'unknown') AS region
  FROM (SELECT *, {age} AS age FROM joined)),
profiled AS (
  SELECT *, CASE WHEN age IS NULL OR age < 18 THEN 'unknown' {bands} ELSE '65+' END AS age_band,
         CASE WHEN frequency = 0 THEN 'prospect'
              WHEN recency_days > {settings.churned_after_days} THEN 'churned'
              WHEN recency_days > {settings.lapsed_after_days} THEN 'lapsed'
              WHEN tenure_days <= {settings.new_customer_days} THEN 'new'
              WHEN frequency >= {settings.loyal_min_orders} THEN 'loyal'
              ELSE 'active' END AS lifecycle_stage
  FROM filled),
cuts AS (
  SELECT QUANTILE_DISC(recency_days, {QUINTILES}) AS r_cuts, QUANTILE_DISC(frequency, {QUINTILES}) AS f_cuts,
         QUANTILE_DISC(monetary, {QUINTILES}) AS m_cuts
  FROM profiled WHERE frequency > 0),
scored AS (
  SELECT p.*, CAST({_score('recency_days', 'r_cuts', False)} AS INTEGER) AS r_score,
         CAST({_score('frequency', 'f_cuts', True)} AS INTEGER) AS f_score,
         CAST({_score('monetary', 'm_cuts', True)} AS INTEGER) AS m_score
  FROM profiled p CROSS JOIN cuts)"""


RFM_SEGMENT = """CASE WHEN frequency = 0 THEN 'no_purchases'
  WHEN r_score >= 4 AND f_score >= 4 AND m_score >= 4 THEN 'champions'
  WHEN r_score <= 2 AND f_score >= 4 THEN 'cant_lose'
  WHEN r_score <= 2 AND m_score >= 4 THEN 'at_risk_big_spenders'
  WHEN r_score >= 3 AND f_score >= 3 THEN 'loyal'
  WHEN r_score >= 4 AND f_score <= 1 THEN 'new'
  WHEN r_score >= 3 THEN 'potential'
  WHEN r_score <= 2 AND f_score <= 2 THEN 'hibernating'
  ELSE 'needs_attention' END"""


def features_sql(paths: dict[str, str], as_of: dt.date, settings: FeatureSettings) -> str:
    """One query: a row per customer first seen before ``as_of``, with the columns of
    ``build_features``. ``paths``: each table of ``TABLES`` -> its Delta folder."""
    missing = sorted(set(TABLES) - set(paths))
    if missing:
        raise CustsegError(f"the DuckDB features query needs the table(s) {', '.join(missing)}")
    cutoff = f"DATE '{as_of.isoformat()}'"
    crosswalk = f"(SELECT source, record_id, customer_id FROM {_scan(paths, 'identity_crosswalk')})"
    return f"""
WITH
orders AS (
  SELECT x.customer_id, o.order_id, o.order_ts, o.order_date, o.status, o.has_discount, o.net_amount
  FROM {_scan(paths, 'orders_clean')} o
  JOIN {crosswalk} x ON o.customer_source = x.source AND o.customer_ref = x.record_id),
events AS (
  SELECT x.customer_id, e.session_id, e.event_ts, e.event_date, e.event_type
  FROM {_scan(paths, 'events_clean')} e
  JOIN {crosswalk} x ON x.source = 'web_accounts' AND e.account_id = x.record_id),
master AS (SELECT * FROM {_scan(paths, 'customer_master')}),
{_purchases(paths, cutoff)},
{_engagement(cutoff)},
{_profile(settings, cutoff)}
SELECT customer_id, gender, frequency, monetary, discount_rate, return_rate, spend_90d, spend_trend,
       interpurchase_days_mean, interpurchase_days_std, category_breadth, recency_days, avg_order_value,
       sessions_90d, page_views_90d, avg_session_minutes_90d, cart_adds_90d, cart_abandonment_rate, sessions_7d,
       engagement_spike, tenure_days, frequency_x_aov, as_of_date, age, age_band, region, lifecycle_stage,
       r_score, f_score, m_score, {RFM_SEGMENT} AS rfm_segment
FROM scored"""


def build(connection: Any, paths: dict[str, str], settings: FeatureSettings) -> Any:
    """The features as a DuckDB relation (lazy), as of ``settings.as_of`` or the stage's default."""
    as_of = settings.as_of or default_as_of(connection, paths)
    return connection.sql(features_sql(paths, as_of, settings))
