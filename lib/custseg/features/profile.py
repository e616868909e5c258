"""Profile features: demographic bands, lifecycle stage by rules, and RFM scores.

RFM quintile cut points come from ``percentile_approx`` over the buyers (four numbers per
measure, joined back to every row), not from a window over the whole table, which would pull
every row into one task. They stay in the plan: an action here would compute every feature
once for the cut points and again for whoever reads the scores.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.config.model import FeatureSettings

AGE_BANDS = ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64))
QUANTILE_ERROR = 0.001   # relative rank error of the cut points (percentile_approx's accuracy is its inverse)
QUINTILES = [0.2, 0.4, 0.6, 0.8]
# score -> (measure, whether a higher value scores higher)
RFM_MEASURES = {"r_score": ("recency_days", False), "f_score": ("frequency", True), "m_score": ("monetary", True)}


def with_demographics(customers: DataFrame, as_of: dt.date) -> DataFrame:
    """``customers``: birth_date, gender, country -> age, age_band, gender, region."""
    age = F.floor(F.months_between(F.lit(as_of), F.col("birth_date")) / 12).cast("int")
    age = F.when((age >= 0) & (age <= 120), age)
    band = F.when(age.isNull() | (age < 18), F.lit("unknown"))
    for low, high in AGE_BANDS:
        band = band.when(age <= high, F.lit(f"{low}-{high}"))
    return customers.withColumns({
        "age": age,
        "age_band": band.otherwise(F.lit("65+")),
        "gender": F.coalesce(F.col("gender"), F.lit("unknown")),
        "region": F.coalesce(F.col("country"), F.lit("unknown")),
    })


def lifecycle_stage(settings: FeatureSettings) -> Column:
    frequency, recency, tenure = F.col("frequency"), F.col("recency_days"), F.col("tenure_days")
    return (
        F.when(frequency == 0, F.lit("prospect"))
        .when(recency > settings.churned_after_days, F.lit("churned"))
        .when(recency > settings.lapsed_after_days, F.lit("lapsed"))
        .when(tenure <= settings.new_customer_days, F.lit("new"))
        .when(frequency >= settings.loyal_min_orders, F.lit("loyal"))
        .otherwise(F.lit("active"))
    )


def with_rfm_scores(features: DataFrame) -> DataFrame:
    """Quintile scores 1-5 for customers with orders (5 best), 0 for the others, and a named
    RFM segment from the classic score rules."""
    buyers = features.filter(F.col("frequency") > 0)
    cuts = buyers.agg(*[F.percentile_approx(measure, QUINTILES, round(1 / QUANTILE_ERROR)).alias(f"__cuts_{score}")
                        for score, (measure, _) in RFM_MEASURES.items()])
    scored = features.crossJoin(cuts).withColumns({
        score: _score(F.col(measure), F.col(f"__cuts_{score}"), higher_is_better)
        for score, (measure, higher_is_better) in RFM_MEASURES.items()
    }).drop(*[f"__cuts_{score}" for score in RFM_MEASURES])
    has_orders = F.col("frequency") > 0
    scored = scored.withColumns({c: F.when(has_orders, F.col(c)).otherwise(0) for c in RFM_MEASURES})
    r, f, m = F.col("r_score"), F.col("f_score"), F.col("m_score")
    segment = (
        F.when(~has_orders, F.lit("no_purchases"))
        .when((r >= 4) & (f >= 4) & (m >= 4), F.lit("champions"))
        .when((r <= 2) & (f >= 4), F.lit("cant_lose"))
        .when((r <= 2) & (m >= 4), F.lit("at_risk_big_spenders"))
        .when((r >= 3) & (f >= 3), F.lit("loyal"))
        .when((r >= 4) & (f <= 1), F.lit("new"))
        .when(r >= 3, F.lit("potential"))
        .when((r <= 2) & (f <= 2), F.lit("hibernating"))
        .otherwise(F.lit("needs_attention"))
    )
    return scored.withColumn("rfm_segment", segment)


def _score(value: Column, cuts: Column, higher_is_better: bool) -> Column:
    """1-5 by the quintile cut points in the array ``cuts``; ties at a cut go to the lower
    quintile; null without cut points (no buyers)."""
    rank = F.when(cuts.isNull(), F.lit(None))
    for index in range(len(QUINTILES)):
        rank = rank.when(value <= cuts[index], index + 1)
    rank = rank.otherwise(len(QUINTILES) + 1)
    return (rank if higher_is_better else 6 - rank).cast("int")
