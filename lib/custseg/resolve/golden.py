"""Golden records: one row per customer, each field chosen from its cluster by a rule.

Rules: ``most_recent`` (latest non-null by updated/created time), ``most_frequent`` (ties to
the most recent), ``source_priority`` (first non-null in the configured source order) and
``longest``. All are single-pass aggregates (max_by/min_by over struct orderings), never a
Python loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

GOLDEN_FIELDS = ("first_name", "last_name", "email", "phone_e164", "birth_date", "gender", "street",
                 "city", "postcode", "country")
# Fields where two different values inside one customer suggest a wrong merge.
CONFLICT_FIELDS = ("birth_date", "gender")


def golden_records(
    members: DataFrame, rules: Mapping[str, str], default_rule: str, source_priority: Sequence[str]
) -> DataFrame:
    """``members``: customer_id, source, record_id, recency, and the GOLDEN_FIELDS."""
    priority = F.coalesce(
        F.array_position(F.array(*[F.lit(s) for s in source_priority]), F.col("source")),
        F.lit(len(source_priority) + 1)
    )
    frequencies = {
        f"{field}__count": F.when(F.col(field).isNotNull(),
                                  F.count(F.lit(1)).over(Window.partitionBy("customer_id", field)))
        for field in GOLDEN_FIELDS if rules.get(field, default_rule) == "most_frequent"
    }
    # Every window and the aggregate group by customer: one shuffle by customer serves them
    # all (a window over customer and field would otherwise shuffle the records once per field).
    prepared = members.repartition("customer_id").withColumns({"_priority": priority, **frequencies})
    chosen = [_choose(field, rules.get(field, default_rule)).alias(field) for field in GOLDEN_FIELDS]
    # Two known values differ exactly when the smallest and the largest do: no distinct count,
    # which would shuffle the records again. 'unknown' is absent data, not a disagreement.
    known = {f: F.when(F.col(f).cast("string") != "unknown", F.col(f)) for f in CONFLICT_FIELDS}
    conflicts = F.array_compact(F.array(*[
        F.when(F.min(value) != F.max(value), F.lit(f"conflicting_{f}")) for f, value in known.items()
    ]))
    return prepared.groupBy("customer_id").agg(
        *chosen,
        F.count(F.lit(1)).cast("int").alias("record_count"),
        F.array_sort(F.collect_set("source")).alias("sources"),
        F.min("created_at").alias("first_seen_at"),
        F.max("recency").alias("last_updated_at"),
        conflicts.alias("review_flags"),
    )


def _choose(field: str, rule: str) -> Column:
    """The value a rule keeps, ordered by a struct: rule key first, then recency, then the
    record's source and id, so ties are broken the same way on every run and missing
    timestamps still leave a choice."""
    value = F.col(field)
    present = value.isNotNull()
    recency = F.coalesce(F.unix_micros(F.col("recency")), F.lit(0))
    tie_break = (recency.alias("recency"), F.col("source").alias("source"), F.col("record_id").alias("record_id"))
    if rule == "most_recent":
        return F.max_by(value, F.when(present, F.struct(*tie_break)))
    if rule == "most_frequent":
        return F.max_by(value, F.when(present, F.struct(F.col(f"{field}__count").alias("count"), *tie_break)))
    if rule == "source_priority":
        return F.min_by(value, F.when(present, F.struct(
            F.col("_priority").alias("priority"), (-recency).alias("recency"),
            F.col("source").alias("source"), F.col("record_id").alias("record_id"))))
    if rule == "longest":
        return F.max_by(value, F.when(present, F.struct(F.length(value.cast("string")).alias("length"), *tie_break)))
    raise ValueError(f"unknown survivorship rule {rule!r}")
