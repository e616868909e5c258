"""Segment profiles and names.

A profile holds each segment's size, share, dominant lifecycle stage, and per feature the mean
and median in original units with the lift against the whole base. Names come from the
profile by readable rules, so that a marketer sees 'At-risk big spenders' rather than
'segment 3'; segments that would share a name are told apart by their most distinctive feature.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import FeatureSettings
from custseg.segment.pipeline import PREDICTION

FEATURE_WORDS = {
    "monetary": "spend", "frequency": "orders", "sessions_90d": "browsing", "discount_rate": "discount use",
    "cart_abandonment_rate": "cart abandonment", "recency_days": "days since last order",
    "avg_order_value": "basket size", "tenure_days": "tenure", "return_rate": "returns",
}


def profile_segments(assigned: DataFrame, features: Sequence[str], run_id: str, by: str = PREDICTION) -> DataFrame:
    """``assigned``: customer_features columns plus the segment column ``by``. Small output: one
    row per segment, keyed by ``by``."""
    total = assigned.count()
    base = assigned.agg(*[F.avg(f).alias(f) for f in features]).first()
    assert base is not None
    per_segment = assigned.groupBy(by).agg(
        F.count(F.lit(1)).alias("customers"),
        F.mode("lifecycle_stage", deterministic=True).alias("dominant_lifecycle_stage"),
        *[F.avg(f).alias(f"{f}__mean") for f in features],
        *[F.percentile_approx(F.col(f).cast("double"), 0.5, 1000).alias(f"{f}__median") for f in features],
    )
    stats = F.array(*[
        F.struct(
            F.lit(f).alias("feature"), F.col(f"{f}__mean").cast("double").alias("mean"),
            F.col(f"{f}__median").cast("double").alias("median"),
            F.lit(base[f]).cast("double").alias("base_mean"),
            ((F.col(f"{f}__mean") / F.lit(base[f])) if base[f] else F.lit(None)).cast("double").alias("lift"),
        )
        for f in features
    ])
    return per_segment.select(
        by, F.col("customers").cast("bigint"), (F.col("customers") / F.lit(total)).alias("share"),
        "dominant_lifecycle_stage", stats.alias("feature_stats"), F.lit(run_id).alias("model_run_id"),
    )


def name_segments(profiles: list[dict[str, object]], settings: FeatureSettings, by: str = PREDICTION) -> dict[int, str]:
    """Readable names from profile rows (``by``, feature_stats); one distinct name per segment."""
    names: dict[int, str] = {}
    for row in profiles:
        stats = {s["feature"]: s for s in row["feature_stats"]}  # type: ignore[attr-defined, union-attr]
        names[int(row[by])] = _base_name(stats, settings)  # type: ignore[call-overload]
    return _disambiguate(names, {int(r[by]): r for r in profiles})  # type: ignore[call-overload]


def _base_name(stats: dict[str, dict[str, float]], settings: FeatureSettings) -> str:
    def median(feature: str) -> float | None:
        return stats[feature]["median"] if feature in stats else None

    def lift(feature: str) -> float:
        value = stats.get(feature, {}).get("lift")
        return value if value is not None else 1.0

    frequency, recency, tenure = median("frequency"), median("recency_days"), median("tenure_days")
    if frequency is not None and frequency == 0:
        return "Browsers, no purchase yet" if lift("sessions_90d") >= 1.2 else "Dormant sign-ups"
    if recency is not None and recency > settings.churned_after_days:
        return "Churned big spenders" if lift("avg_order_value") >= 1.5 else "Churned"
    if recency is not None and recency > settings.lapsed_after_days:
        return "At-risk big spenders" if max(lift("avg_order_value"), lift("monetary")) >= 1.5 else "Lapsing"
    if tenure is not None and tenure <= settings.new_customer_days * 1.5:
        return "New customers"
    if lift("discount_rate") >= 1.8:
        return "Deal seekers"
    if lift("monetary") >= 2.0 and lift("frequency") >= 1.5:
        return "High-value loyal"
    if lift("frequency") >= 1.0:
        return "Regulars"
    return "Occasional buyers"


def _disambiguate(names: dict[int, str], profiles: dict[int, dict[str, object]]) -> dict[int, str]:
    lifts = {segment: {s["feature"]: s["lift"] or 1.0 for s in r["feature_stats"]}  # type: ignore[attr-defined, index, union-attr]
             for segment, r in profiles.items()}
    result = dict(names)
    for name in set(names.values()):
        same = [sid for sid, n in names.items() if n == name]
        if len(same) < 2:
            continue
        for sid in same:
            others = [lifts[o] for o in same if o != sid]
            feature, direction = max(
                ((f, lifts[sid][f] - sum(o.get(f, 1.0) for o in others) / len(others)) for f in lifts[sid]),
                key=lambda item: abs(item[1]),
            )
            word = FEATURE_WORDS.get(feature, feature.replace("_", " "))
            result[sid] = f"{name} ({'more' if direction > 0 else 'less'} {word})"
    if len(set(result.values())) < len(result):  # still tied: number them
        seen: dict[str, int] = {}
        for sid in sorted(result):
            seen[result[sid]] = seen.get(result[sid], 0) + 1
            if seen[result[sid]] > 1:
                result[sid] = f"{result[sid]} #{seen[result[sid]]}"
    return result
