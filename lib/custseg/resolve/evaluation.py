"""Resolution quality against ground truth: blocking completeness, pairwise and B-cubed scores.

Pairwise figures come from group sizes (a cluster of n records holds n(n-1)/2 pairs), so no
pair is ever enumerated inside a cluster: predicted = sum over clusters, true = sum over
persons, agreeing = sum over (cluster, person) groups. B-cubed precision and recall average,
over records, the overlap of a record's cluster and its person (Bagga and Baldwin 1998).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def evaluate(labelled: DataFrame, clusters: DataFrame, candidates: DataFrame, records: int) -> dict[str, float]:
    """``labelled``: node, person (one person a node); ``clusters``: node, component;
    ``candidates``: node_l, node_r, each pair once. Empty when no record of the run is labelled.

    Two queries in all: the group sizes of every (cluster, person) with the sizes of their
    cluster and person give every pairwise and B-cubed figure, and one pass over the candidates
    with the persons of both records gives blocking completeness (a small run pays for each
    query, not for its rows)."""
    n, in_cluster, of_person = F.col("n"), F.col("n_cluster"), F.col("n_person")
    sizes = (labelled.join(clusters, "node", "inner").groupBy("component", "person")
             .agg(F.count(F.lit(1)).alias("n"))
             .select("n", F.sum("n").over(Window.partitionBy("component")).alias("n_cluster"),
                     F.sum("n").over(Window.partitionBy("person")).alias("n_person")))
    # A cluster of c records holds c(c-1)/2 pairs: the sum over its groups of n(c-1)/2.
    totals = sizes.agg(
        F.sum(n).alias("records"), F.sum(n * (in_cluster - 1)).alias("predicted2"),
        F.sum(n * (of_person - 1)).alias("true2"), F.sum(n * (n - 1)).alias("agreeing2"),
        F.sum(n * n / in_cluster).alias("p"), F.sum(n * n / of_person).alias("r"),
    ).first()
    if totals is None or not totals.records:
        return {}  # none of the input's records is in the ground truth: nothing to score
    predicted, true, agreeing = totals.predicted2 / 2, totals.true2 / 2, totals.agreeing2 / 2
    precision = agreeing / predicted if predicted else 1.0
    recall = agreeing / true if true else 1.0
    bcubed_p, bcubed_r = totals.p / totals.records, totals.r / totals.records
    people = labelled.select("node", "person")
    found = (candidates.select("node_l", "node_r")
             .join(people.toDF("node_l", "person_l"), "node_l", "left")
             .join(people.toDF("node_r", "person_r"), "node_r", "left")
             .agg(F.count(F.lit(1)).alias("candidates"),
                  F.count_if(F.col("person_l") == F.col("person_r")).alias("true_found"))
             .first())
    assert found is not None
    all_pairs = records * (records - 1) / 2
    candidate_count = int(found.candidates)
    return {
        "pairwise_precision": precision, "pairwise_recall": recall, "pairwise_f1": _f1(precision, recall),
        "bcubed_precision": float(bcubed_p), "bcubed_recall": float(bcubed_r),
        "bcubed_f1": _f1(float(bcubed_p), float(bcubed_r)),
        "true_pairs": true, "predicted_pairs": predicted,
        "blocking_pair_completeness": found.true_found / true if true else 1.0,
        "candidate_pairs": float(candidate_count),
        "reduction_ratio": 1 - candidate_count / all_pairs if all_pairs else 0.0,
        "pairs_per_record": 2 * candidate_count / records if records else 0.0,
    }


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
