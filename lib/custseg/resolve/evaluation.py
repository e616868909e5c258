"""Resolution quality against ground truth: blocking completeness, pairwise and B-cubed scores.

Pairwise figures come from group sizes (a cluster of n records holds n(n-1)/2 pairs), so no
pair is ever enumerated inside a cluster: predicted = sum over clusters, true = sum over
persons, agreeing = sum over (cluster, person) groups. B-cubed precision and recall average,
over records, the overlap of a record's cluster and its person (Bagga and Baldwin 1998).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def evaluate(labelled: DataFrame, clusters: DataFrame, candidates: DataFrame, records: int) -> dict[str, float]:
    """``labelled``: node, person; ``clusters``: node, component; ``candidates``: node_l, node_r.
    Empty when no record of the run is labelled."""
    joined = labelled.join(clusters, "node", "inner")
    pairs = F.col("n") * (F.col("n") - 1) / 2
    by_cluster = joined.groupBy("component").agg(F.count(F.lit(1)).alias("n"))
    by_person = joined.groupBy("person").agg(F.count(F.lit(1)).alias("n"))
    by_both = joined.groupBy("component", "person").agg(F.count(F.lit(1)).alias("n"))
    predicted = _sum(by_cluster, pairs)
    true = _sum(by_person, pairs)
    agreeing = _sum(by_both, pairs)
    precision = agreeing / predicted if predicted else 1.0
    recall = agreeing / true if true else 1.0
    bcubed = (
        joined.join(by_cluster.withColumnRenamed("n", "n_cluster"), "component")
        .join(by_person.withColumnRenamed("n", "n_person"), "person")
        .join(by_both.withColumnRenamed("n", "n_both"), ["component", "person"])
        .agg(F.avg(F.col("n_both") / F.col("n_cluster")).alias("p"),
             F.avg(F.col("n_both") / F.col("n_person")).alias("r"))
        .first()
    )
    if bcubed is None or bcubed.p is None:
        return {}  # none of the input's records is in the ground truth: nothing to score
    true_pairs = (
        labelled.alias("a").join(labelled.alias("b"),
                                 (F.col("a.person") == F.col("b.person")) & (F.col("a.node") < F.col("b.node")))
        .select(F.col("a.node").alias("node_l"), F.col("b.node").alias("node_r"))
    )
    found = true_pairs.join(candidates.select("node_l", "node_r"), ["node_l", "node_r"], "left_semi").count()
    all_pairs = records * (records - 1) / 2
    candidate_count = candidates.count()
    return {
        "pairwise_precision": precision, "pairwise_recall": recall, "pairwise_f1": _f1(precision, recall),
        "bcubed_precision": float(bcubed.p), "bcubed_recall": float(bcubed.r),
        "bcubed_f1": _f1(float(bcubed.p), float(bcubed.r)),
        "true_pairs": true, "predicted_pairs": predicted,
        "blocking_pair_completeness": found / true if true else 1.0,
        "candidate_pairs": float(candidate_count),
        "reduction_ratio": 1 - candidate_count / all_pairs if all_pairs else 0.0,
        "pairs_per_record": 2 * candidate_count / records if records else 0.0,
    }


def _sum(frame: DataFrame, expression: F.Column) -> float:
    return float(frame.agg(F.coalesce(F.sum(expression), F.lit(0))).first()[0])  # type: ignore[index]


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
