"""Is the chosen segmentation real? Agreement measures computed in Spark.

- ``adjusted_rand_index``: agreement of two labelings of the same rows, corrected for chance
  (Hubert and Arabie, 1985), from the contingency table: only k x k counts reach the driver.
- ``bootstrap_stability``: re-fit the chosen k on resamples (drawn with replacement) and compare
  each re-fit's assignment of *all* customers with the full fit's.
- ``holdout_consistency``: fit on a training split, then compare the assignment of the held-out
  customers by that model with their assignment by the full model.
A stable segmentation scores near 1 in both; values below ~0.6 mean the segments are an
artefact of the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml import Model
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import SegmentSettings
from custseg.segment.pipeline import PREDICTION, clusterer


def _pairs(count: F.Column) -> F.Column:
    return count * (count - 1) / 2


def adjusted_rand_index(frame: DataFrame, left: str, right: str) -> float:
    """ARI between columns ``left`` and ``right`` of ``frame`` (rows with a null label are ignored)."""
    labelled = frame.select(F.col(left).alias("a"), F.col(right).alias("b")).dropna()
    cells = labelled.groupBy("a", "b").agg(F.count(F.lit(1)).cast("double").alias("n"))
    by_a = cells.groupBy("a").agg(F.sum("n").alias("n"))
    by_b = cells.groupBy("b").agg(F.sum("n").alias("n"))
    sums = (
        cells.agg(F.sum(_pairs(F.col("n"))).alias("agreeing"), F.sum("n").alias("total"))
        .crossJoin(by_a.agg(F.sum(_pairs(F.col("n"))).alias("rows")))
        .crossJoin(by_b.agg(F.sum(_pairs(F.col("n"))).alias("columns")))
        .first()
    )
    if sums is None or not sums.total or sums.total < 2:
        return 1.0
    index, rows, columns = float(sums.agreeing or 0.0), float(sums.rows or 0.0), float(sums.columns or 0.0)
    expected = rows * columns / (sums.total * (sums.total - 1) / 2)
    maximum = (rows + columns) / 2
    if maximum == expected:  # both labelings put everything in one cluster (or all singletons)
        return 1.0
    return (index - expected) / (maximum - expected)


@dataclass
class Validation:
    bootstrap_ari: list[float]
    holdout_ari: float

    @property
    def stability_mean(self) -> float:
        return sum(self.bootstrap_ari) / len(self.bootstrap_ari) if self.bootstrap_ari else float("nan")

    @property
    def stability_min(self) -> float:
        return min(self.bootstrap_ari) if self.bootstrap_ari else float("nan")


def bootstrap_stability(prepared: DataFrame, settings: SegmentSettings, k: int, reference: DataFrame) -> list[float]:
    """ARI of each re-fit on a bootstrap resample against ``reference`` (customer_id, segment_id)."""
    scores = []
    for sample in range(settings.bootstrap_samples):
        resample = prepared.sample(withReplacement=True, fraction=1.0, seed=settings.seed + 1000 + sample)
        refit = clusterer(settings, k).fit(resample)
        scores.append(_agreement(refit, prepared, reference))
    return scores


def holdout_consistency(prepared: DataFrame, settings: SegmentSettings, k: int, reference: DataFrame) -> float:
    """ARI, on the held-out customers, between a model fitted without them and the full model."""
    share = settings.holdout_share
    train, holdout = prepared.randomSplit([1.0 - share, share], seed=settings.seed + 7)
    return _agreement(clusterer(settings, k).fit(train), holdout, reference)


def validate(prepared: DataFrame, settings: SegmentSettings, k: int, full_model: Model) -> Validation:
    reference = full_model.transform(prepared).select("customer_id", F.col(PREDICTION).alias("reference"))
    reference = reference.localCheckpoint(eager=True)
    return Validation(bootstrap_stability(prepared, settings, k, reference),
                      holdout_consistency(prepared, settings, k, reference))


def _agreement(model: Model, frame: DataFrame, reference: DataFrame) -> float:
    assigned = model.transform(frame).select("customer_id", PREDICTION).join(reference, "customer_id")
    return adjusted_rand_index(assigned, PREDICTION, "reference")


def planted_archetypes(crosswalk: DataFrame, truth_records: DataFrame, truth_persons: DataFrame) -> DataFrame:
    """(customer_id, archetype) on generated data: each customer's person is the one behind
    most of its records (ties: the smallest person id)."""
    people = crosswalk.join(truth_records.select("source", "record_id", "person_id"), ["source", "record_id"])
    majority = people.groupBy("customer_id", "person_id").count().groupBy("customer_id").agg(
        F.max_by("person_id", F.struct("count", -F.col("person_id"))).alias("person_id"))
    return majority.join(truth_persons.select("person_id", "archetype"), "person_id").select("customer_id", "archetype")
