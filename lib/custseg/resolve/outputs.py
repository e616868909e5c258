"""Shape resolution results into the declared output tables."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from custseg.resolve.blocking import RuleDiagnostics
from custseg.resolve.engine import ACCEPTED

KEYS = ("source_l", "record_id_l", "source_r", "record_id_r")


def match_pair_rows(scored: DataFrame) -> DataFrame:
    return scored.select(*KEYS, "blocked_by", "levels", "contributions", "match_weight", "match_probability",
                         "decision")


def review_pairs(scored: DataFrame) -> DataFrame:
    return scored.filter(F.col("decision") == "review")


def review_rows(review: DataFrame, identities: DataFrame, roles: list[str]) -> DataFrame:
    """``review``: the pairs of ``review_pairs``, with the values of both records beside them."""
    def values(side: str) -> DataFrame:
        return identities.select(F.col("node").alias(f"node_{side}"), F.create_map(
            *[x for role in roles for x in (F.lit(role), F.col(role).cast("string"))]).alias(f"values_{side}"))

    return review.join(values("l"), "node_l", "inner").join(values("r"), "node_r", "inner").select(
        *KEYS, "match_probability", "values_l", "values_r", "levels", "contributions")


def crosswalk_rows(members: DataFrame, scored: DataFrame, assigned: DataFrame) -> DataFrame:
    """``members``: node, source, record_id, component, weakest_link; ``assigned``: ids per component."""
    accepted = scored.filter(F.col("decision").isin(*ACCEPTED))
    rules = (
        accepted.select(F.col("node_l").alias("node"), "blocked_by")
        .unionByName(accepted.select(F.col("node_r").alias("node"), "blocked_by"))
        .groupBy("node").agg(F.array_sort(F.collect_set("blocked_by")).alias("link_keys"))
    )
    cluster = Window.partitionBy("component")
    return members.join(rules, "node", "left").join(assigned, "component", "inner").select(
        "source", "record_id", "customer_id",
        F.count(F.lit(1)).over(cluster).cast("int").alias("cluster_size"),
        F.coalesce("link_keys", F.array().cast("array<string>")).alias("link_keys"),
        F.col("weakest_link").alias("min_link_probability"),
        "id_issued_at", F.col("component").alias("cluster_node"),
    )


def diagnostics_rows(run_id: str, diagnostics: list[RuleDiagnostics], scored: DataFrame,
                     omitted: dict[str, str]) -> list[tuple[object, ...]]:
    """A row per rule that ran, and one per shipped rule left out (``omitted``: rule -> reason)."""
    # Collected: one row per rule.
    found_first = {r.blocked_by: int(r["count"]) for r in scored.groupBy("blocked_by").count().collect()}
    ran = [(run_id, d.rule, d.blocks, d.estimated_pairs, found_first.get(d.rule, 0),
            [(block, size) for block, size in d.largest], d.windowed_blocks, d.skipped_blocks, d.skipped_pairs, None)
           for d in diagnostics]
    return ran + [(run_id, rule, 0, 0, 0, [], 0, 0, 0, reason) for rule, reason in omitted.items()]
