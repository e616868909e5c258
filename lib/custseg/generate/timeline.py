"""Each person's buying and browsing timeline, drawn from their archetype.

Adds, per person: how many orders, how long ago the first and last ones were, the price-tier
mix, discount/return/online propensities and web sessions. Day counts are days before the
end of the generated period; ``end_ts`` is the first instant after it.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.generate.archetypes import ARCHETYPES, CATEGORY_LEAN
from custseg.generate.draws import choice, integer_between, uniform

CATEGORIES = ("electronics", "home", "fashion", "beauty", "sports", "books", "toys", "grocery")


def archetype_parameters(spark: SparkSession) -> DataFrame:
    """The archetype table as a tiny DataFrame, for a broadcast join."""
    rows = [
        (a.name, *a.orders, *a.first_order_days, *a.last_order_days, *a.price_tiers, a.discount_share,
         a.return_share, *a.sessions_90d, a.cart_abandonment, a.online_share, list(a.categories or CATEGORIES))
        for a in ARCHETYPES
    ]
    schema = (
        "archetype string, orders_min int, orders_max int, first_min int, first_max int, last_min int, "
        "last_max int, tier_budget double, tier_mid double, tier_premium double, discount_share double, "
        "return_share double, sessions_min int, sessions_max int, cart_abandonment double, online_share double, "
        "lean_categories array<string>"
    )
    return spark.createDataFrame(rows, schema)


def with_timeline(persons: DataFrame, seed: int) -> DataFrame:
    """Persons joined with their archetype's parameters and drawn timeline columns."""
    params = F.broadcast(archetype_parameters(persons.sparkSession))
    joined = persons.join(params, on="archetype", how="inner")

    def u(purpose: str) -> Column:
        return uniform(seed, purpose, "person_id")

    first_days = integer_between(u("first_days"), F.col("first_min"), F.col("first_max"))
    timeline = joined.withColumns({
        "n_orders": integer_between(u("n_orders"), F.col("orders_min"), F.col("orders_max")),
        "first_order_days": first_days,
    })
    timeline = timeline.withColumns({
        "last_order_days": F.least(
            integer_between(u("last_days"), F.col("last_min"), F.col("last_max")), F.col("first_order_days")
        ),
        "sessions_90d": integer_between(u("sessions"), F.col("sessions_min"), F.col("sessions_max")),
        "favourite_categories": F.array(
            F.when(u("lean") < CATEGORY_LEAN, choice(u("fav_1"), F.col("lean_categories")))
            .otherwise(_category(u("fav_1"))),
            _category(u("fav_2")),
        ),
    })
    return timeline.drop("orders_min", "orders_max", "first_min", "first_max", "last_min", "last_max",
                         "sessions_min", "sessions_max", "lean_categories")


def _category(u: Column) -> Column:
    return F.element_at(F.array(*[F.lit(c) for c in CATEGORIES]), (F.floor(u * len(CATEGORIES)) + 1).cast("int"))


def end_instant(end_date: dt.date) -> Column:
    """First instant after the generated period, as a timestamp literal (UTC)."""
    return F.lit(dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time(0, 0), tzinfo=dt.UTC))


def days_before(end_ts: Column, days: Column, u_time_of_day: Column) -> Column:
    """A timestamp ``days`` whole days before the end, at a drawn time of day."""
    seconds = (days + 1) * 86400 - (u_time_of_day * 86400).cast("long")
    return F.timestamp_seconds(F.unix_seconds(end_ts) - seconds)
