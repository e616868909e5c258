"""Is the chosen segmentation real? Agreement of labelings, and the stability of the fit.

- ``adjusted_rand_index``: agreement of two labelings of the same rows, corrected for chance
  (Hubert and Arabie, 1985), computed in Spark from the contingency table: only k x k counts
  reach the driver.
- ``validate``, on the driver's sample of customers (custseg.segment.selection): re-fit the
  chosen k on bootstrap resamples of the sample (drawn with replacement) and compare each
  re-fit's assignment of the whole sample with the chosen model's; and fit on a training split,
  then compare the assignment of the held-out customers by that model with the chosen model's.
A stable segmentation scores near 1 in both; values below ~0.6 mean the segments are an
artefact of the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sklearn.metrics import adjusted_rand_score

from custseg.config.model import SegmentSettings
from custseg.ml.lloyd import Centre
from custseg.ml.measures import nearest
from custseg.segment.selection import fit


def adjusted_rand_index(frame: DataFrame, left: str, right: str) -> float:
    """ARI between columns ``left`` and ``right`` of ``frame`` (rows with a null label are ignored),
    from the contingency table: a row per pair of labels that occurs together."""
    cells = (frame.select(F.col(left).alias("a"), F.col(right).alias("b")).dropna()
             .groupBy("a", "b").agg(F.count(F.lit(1)).alias("n")).collect())
    counts = np.array([float(c.n) for c in cells])
    total = counts.sum()
    if total < 2:
        return 1.0

    def pairs(values: np.ndarray) -> float:
        return float(np.sum(values * (values - 1) / 2))

    by_a: dict[object, float] = {}
    by_b: dict[object, float] = {}
    for cell in cells:
        by_a[cell.a] = by_a.get(cell.a, 0.0) + cell.n
        by_b[cell.b] = by_b.get(cell.b, 0.0) + cell.n
    index, rows, columns = pairs(counts), pairs(np.array(list(by_a.values()))), pairs(np.array(list(by_b.values())))
    expected = rows * columns / (total * (total - 1) / 2)
    maximum = (rows + columns) / 2
    if maximum == expected:  # both labelings put everything in one cluster (or all singletons)
        return 1.0
    return float((index - expected) / (maximum - expected))


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


def bootstrap_stability(matrix: np.ndarray, settings: SegmentSettings, k: int, reference: np.ndarray) -> list[float]:
    """ARI of each re-fit on a bootstrap resample of ``matrix`` against ``reference`` (the
    chosen model's cluster of each row)."""
    scores = []
    for sample in range(settings.bootstrap_samples):
        drawn = np.random.default_rng(settings.seed + 1000 + sample).integers(0, len(matrix), size=len(matrix))
        refit, _ = fit(matrix[drawn], settings, k)
        scores.append(float(adjusted_rand_score(reference, nearest(matrix, refit))))
    return scores


def holdout_consistency(matrix: np.ndarray, settings: SegmentSettings, k: int, reference: np.ndarray) -> float:
    """ARI, on the held-out rows, between a model fitted without them and the chosen model."""
    held = np.random.default_rng(settings.seed + 7).random(len(matrix)) < settings.holdout_share
    refit, _ = fit(matrix[~held], settings, k)
    return float(adjusted_rand_score(reference[held], nearest(matrix[held], refit)))


def validate(matrix: np.ndarray, settings: SegmentSettings, k: int, centres: list[Centre]) -> Validation:
    """Stability of the model with ``centres`` (fitted for ``k``) on the rows of ``matrix``."""
    reference = nearest(matrix, centres)
    return Validation(bootstrap_stability(matrix, settings, k, reference),
                      holdout_consistency(matrix, settings, k, reference))


def planted_archetypes(crosswalk: DataFrame, truth_records: DataFrame, truth_persons: DataFrame) -> DataFrame:
    """(customer_id, archetype) on generated data: each customer's person is the one behind
    most of its records (ties: the smallest person id)."""
    people = crosswalk.join(truth_records.select("source", "record_id", "person_id"), ["source", "record_id"])
    majority = people.groupBy("customer_id", "person_id").count().groupBy("customer_id").agg(
        F.max_by("person_id", F.struct("count", -F.col("person_id"))).alias("person_id"))
    return majority.join(truth_persons.select("person_id", "archetype"), "person_id").select("customer_id", "archetype")
