"""Binary-classifier metrics computed in Spark: ROC-AUC and PR-AUC (Spark's evaluator), lift and
capture in the top decile of scores, the Brier score and a ten-bin reliability curve.

The top decile is the tenth of the rows with the highest scores. Tree models give many rows the
same score, so the rows tied at the 0.9 quantile (``approxQuantile``) count with the share of
them that fills the tenth: the expected figures over every order the ties could be broken in.
Only the ten reliability bins reach the driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

RELIABILITY_BINS = 10


@dataclass
class BinaryMetrics:
    rows: int
    positives: int
    roc_auc: float | None
    pr_auc: float | None
    top_decile_lift: float | None
    top_decile_capture: float | None
    brier: float | None
    reliability: list[tuple[int, float, float, int]] = field(default_factory=list)  # bin, mean score, observed, rows

    def as_dict(self) -> dict[str, float]:
        """The scalar metrics that are defined, for logging."""
        values = {"rows": float(self.rows), "positives": float(self.positives), "roc_auc": self.roc_auc,
                  "pr_auc": self.pr_auc, "top_decile_lift": self.top_decile_lift,
                  "top_decile_capture": self.top_decile_capture, "brier": self.brier}
        return {k: float(v) for k, v in values.items() if v is not None}


def area_under(scored: DataFrame, label: str, score: str,
               metric: Literal["areaUnderROC", "areaUnderPR"] = "areaUnderROC") -> float:
    """ROC-AUC (or ``areaUnderPR``) of a double score column against a 0/1 label."""
    evaluator = BinaryClassificationEvaluator(rawPredictionCol=score, labelCol=label, metricName=metric)
    return float(evaluator.evaluate(scored.select(F.col(score).cast("double"), F.col(label).cast("double"))))


def binary_metrics(scored: DataFrame, label: str, score: str, calibrated: bool = True) -> BinaryMetrics:
    """All metrics of ``score`` against ``label``. AUCs are None when the rows hold one class;
    Brier and reliability are None/empty when ``score`` is not a probability (a baseline)."""
    totals = scored.agg(F.count(F.lit(1)).alias("rows"), F.sum(label).alias("positives"),
                        F.avg((F.col(score) - F.col(label)) ** 2).alias("brier")).first()
    assert totals is not None
    rows, positives = int(totals["rows"]), int(totals["positives"] or 0)
    if rows == 0:
        raise ValueError("no rows to evaluate")
    two_classes = 0 < positives < rows
    roc = area_under(scored, label, score) if two_classes else None
    pr = area_under(scored, label, score, "areaUnderPR") if two_classes else None
    lift, capture = top_decile(scored, label, score, rows, positives)
    curve = reliability(scored, label, score) if calibrated else []
    return BinaryMetrics(rows, positives, roc, pr, lift, capture, float(totals["brier"]) if calibrated else None, curve)


def top_decile(scored: DataFrame, label: str, score: str, rows: int,
               positives: int) -> tuple[float | None, float | None]:
    """(lift, capture) of the top 10% of scores: their positive rate over the base rate, and the
    share of all positives they hold."""
    if positives == 0:
        return None, None
    (cut,) = scored.approxQuantile(score, [0.9], 0.001)
    above, tied = F.col(score) > cut, F.col(score) == cut
    counts = scored.agg(F.count(F.when(above, 1)).alias("n"), F.sum(F.when(above, F.col(label))).alias("p"),
                        F.count(F.when(tied, 1)).alias("n_tied"),
                        F.sum(F.when(tied, F.col(label))).alias("p_tied")).first()
    assert counts is not None
    n_above, n_tied = int(counts["n"]), int(counts["n_tied"])
    # A tenth of the rows, or as near as the approximate cut allows: all rows above it, and of
    # the rows at it the share that makes up the tenth.
    top_rows = min(max(rows / 10, n_above), n_above + n_tied)
    if top_rows == 0:
        return None, None
    share_of_tied = (top_rows - n_above) / n_tied if n_tied else 0.0
    top_positives = float(counts["p"] or 0) + share_of_tied * float(counts["p_tied"] or 0)
    return (top_positives / top_rows) / (positives / rows), top_positives / positives


def reliability(scored: DataFrame, label: str, score: str) -> list[tuple[int, float, float, int]]:
    """Per score bin of width 0.1: mean predicted probability, observed positive rate, rows."""
    bin_col = F.least(F.floor(F.col(score) * RELIABILITY_BINS), F.lit(RELIABILITY_BINS - 1)).cast("int")
    binned = scored.groupBy(bin_col.alias("bin")).agg(
        F.avg(score).alias("mean_score"), F.avg(label).alias("observed"), F.count(F.lit(1)).alias("rows"))
    return [(int(r["bin"]), float(r["mean_score"]), float(r["observed"]), int(r["rows"]))
            for r in binned.orderBy("bin").collect()]
