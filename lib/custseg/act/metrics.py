"""Binary-classifier metrics computed in Spark: ROC-AUC and PR-AUC (the areas Spark's
``BinaryClassificationEvaluator`` computes, without its down-sampling), lift and capture in the
top decile of scores, the Brier score and a ten-bin reliability curve.

The top decile is the tenth of the rows with the highest scores. Tree models give many rows the
same score, so the rows tied at the score that completes the tenth count with the share of them
that fills it: the expected figures over every order the ties could be broken in. Only one row of
figures and the ten reliability bins reach the driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, Window
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


def binary_metrics(scored: DataFrame, label: str, score: str, calibrated: bool = True) -> BinaryMetrics:
    """All metrics of ``score`` against ``label``. AUCs are None when the rows hold one class;
    Brier and reliability are None/empty when ``score`` is not a probability (a baseline)."""
    # Every metric follows from the rows and positives at each distinct score: those are counted
    # once (one pass over the scored rows, which a model's plan would otherwise score again for
    # each metric) and the metrics read the counts.
    per_score = scored.groupBy(F.col(score).cast("double").alias("s")).agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.col(label).cast("long")).alias("p")).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _metrics_of(per_score, calibrated)
    finally:
        per_score.unpersist()


def _metrics_of(per_score: DataFrame, calibrated: bool) -> BinaryMetrics:
    figures = _curve_figures(per_score)
    rows, positives = int(figures["rows"] or 0), int(figures["positives"] or 0)
    if rows == 0:
        raise ValueError("no rows to evaluate")
    two_classes = 0 < positives < rows
    roc = float(figures["roc_area"]) / (positives * (rows - positives)) if two_classes else None
    pr = float(figures["pr_area"]) / positives if two_classes else None
    lift = capture = None
    if positives:
        top_rows, top_positives = rows / 10, float(figures["top_positives"])
        lift, capture = (top_positives / top_rows) / (positives / rows), top_positives / positives
    brier = float(figures["squared_error"]) / rows if calibrated else None
    curve = reliability(per_score) if calibrated else []
    return BinaryMetrics(rows, positives, roc, pr, lift, capture, brier, curve)


def _curve_figures(per_score: DataFrame) -> Row:
    """Totals, the areas under the ROC and PR curves (in counts), the positives in the top tenth
    and the summed squared error, from rows ``s`` (score), ``n`` (rows) and ``p`` (positives).

    The curves are Spark's ``BinaryClassificationMetrics`` without down-sampling: a point per
    distinct score from the highest down, ROC from (0, 0), PR from (0, the first precision),
    and trapezoids between points. The top tenth takes all rows above the score where the
    cumulative count reaches a tenth of the rows and, of the rows at it, the share that fills the
    tenth: the expected figures over every order the ties could be broken in."""
    down = Window.orderBy(F.desc("s"))
    upto = down.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    every = Window.partitionBy()
    tp, fp = F.sum("p").over(upto), F.sum(F.col("n") - F.col("p")).over(upto)
    points = per_score.select("s", "n", "p", tp.alias("tp"), fp.alias("fp"), F.sum("n").over(every).alias("rows"))
    precision = F.col("tp") / (F.col("tp") + F.col("fp"))
    points = points.select("*", precision.alias("precision"),
                           F.lag("tp", 1, 0).over(down).alias("tp0"), F.lag("fp", 1, 0).over(down).alias("fp0"))
    points = points.withColumn("precision0", F.coalesce(F.lag("precision").over(down), F.col("precision")))
    tenth = F.col("rows") / 10
    above = F.col("tp0") + F.col("fp0")    # rows scored higher than this point's
    at_cut = (above < tenth) & (above + F.col("n") >= tenth)
    in_top = F.when(above + F.col("n") <= tenth, F.col("p").cast("double")).when(
        at_cut, F.col("p") * (tenth - above) / F.col("n"))
    result = points.agg(
        F.sum("n").alias("rows"), F.sum("p").alias("positives"),
        F.sum((F.col("fp") - F.col("fp0")) * (F.col("tp") + F.col("tp0")) / 2).alias("roc_area"),
        F.sum((F.col("tp") - F.col("tp0")) * (F.col("precision") + F.col("precision0")) / 2).alias("pr_area"),
        F.coalesce(F.sum(in_top), F.lit(0.0)).alias("top_positives"),
        F.sum(F.col("n") * F.col("s") * F.col("s") - 2 * F.col("s") * F.col("p") + F.col("p")).alias("squared_error"),
    ).first()
    assert result is not None
    return result


def reliability(per_score: DataFrame) -> list[tuple[int, float, float, int]]:
    """Per score bin of width 0.1: mean predicted probability, observed positive rate, rows;
    from rows ``s``, ``n`` and ``p`` as :func:`binary_metrics` counts them."""
    bin_col = F.least(F.floor(F.col("s") * RELIABILITY_BINS), F.lit(RELIABILITY_BINS - 1)).cast("int")
    binned = per_score.groupBy(bin_col.alias("bin")).agg(
        (F.sum(F.col("n") * F.col("s")) / F.sum("n")).alias("mean_score"), (F.sum("p") / F.sum("n")).alias("observed"),
        F.sum("n").alias("rows"))
    return [(int(r["bin"]), float(r["mean_score"]), float(r["observed"]), int(r["rows"]))
            for r in binned.orderBy("bin").collect()]
