"""Bounded frames of the act stage for notebooks: propensity metrics and scores, recommendations and
their evaluation.

Every function is a Spark transform whose result has at most one row per target, segment, model,
decile, bin, category or source, so a notebook may call ``toPandas()`` on it.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

ALL_CUSTOMERS = "all customers"
NO_SEGMENT = "(no segment)"
SEGMENT_MODELS = ("segment", "global")


def segment_labels(profiles_df: DataFrame, segmentation_run: str | None = None) -> DataFrame:
    """segment_id and its label ``"<id>: <name>"``, one row per segment of ``segment_profiles``; no
    rows when ``segmentation_run`` (the run a model or an evaluation was made for, None: unknown) is
    not the run behind the profiles, whose names then belong to other segments of the same ids."""
    label = F.concat_ws(": ", F.col("segment_id").cast("string"), F.col("segment_name"))
    same_run = F.lit(True) if segmentation_run is None else F.col("model_run_id") == segmentation_run
    return profiles_df.filter(same_run).select("segment_id", label.alias("segment"))


def with_segment(df: DataFrame, labels_df: DataFrame, missing: str = ALL_CUSTOMERS) -> DataFrame:
    """``df`` with a ``segment`` label: the segment's name, its bare id when the segment is not among
    ``labels_df`` (a model of an earlier segmentation run), or ``missing`` for a null segment_id (the
    metrics' rows over all customers)."""
    labelled = df.join(labels_df.withColumnRenamed("segment", "_label"), "segment_id", "left")
    label = F.coalesce(F.col("_label"), F.col("segment_id").cast("string"), F.lit(missing))
    return labelled.withColumn("segment", label).drop("_label")


def filter_run(df: DataFrame, run_id: str | None) -> DataFrame:
    """Rows of run ``run_id`` (None, a stage that never ran: no rows). Notebooks take the latest run
    from ``Tables.latest_run``, the latest succeeded run in ``job_runs``, as the report does."""
    return df.filter(F.col("run_id") == run_id) if run_id is not None else df.limit(0)


def model_comparison(metrics_df: DataFrame, labels_df: DataFrame) -> DataFrame:
    """Test metrics per target, segment and model: each segment's own model, the global model, the
    one the segment chose (``chosen``, repeated from the row it came from) and the recency baseline;
    overall (segment "all customers") ``chosen`` is every segment's choice together."""
    picked = (metrics_df.filter(F.col("segment_id").isNotNull() & F.col("chosen"))
              .withColumns({"chosen_from": F.col("model"), "model": F.lit("chosen")}))
    rows = metrics_df.withColumn("chosen_from", F.lit(None).cast("string")).unionByName(picked)
    return with_segment(rows, labels_df).select(
        "target", "segment_id", "segment", "model", "chosen_from", "chosen", "reason", "rows", "positives",
        "roc_auc", "pr_auc", "top_decile_lift", "top_decile_capture", "brier")


def reliability(metrics_df: DataFrame) -> DataFrame:
    """The reliability curve of the chosen models over all customers: per target and score bin, the
    mean predicted probability, the observed positive rate and the rows."""
    chosen = metrics_df.filter(F.col("segment_id").isNull() & (F.col("model") == "chosen"))
    points = chosen.select("target", F.explode("reliability").alias("point"))
    return points.select("target", "point.bin", "point.mean_score", "point.observed_rate", "point.rows")


def feature_importances(metrics_df: DataFrame, labels_df: DataFrame) -> DataFrame:
    """Tree feature importances per target of the global model (segment "all customers") and of each
    segment's own model, with whether the segment chose that model."""
    models = metrics_df.filter(F.col("model").isin(*SEGMENT_MODELS) & F.col("feature_importances").isNotNull())
    exploded = models.select("target", "segment_id", "model", "chosen",
                             F.explode("feature_importances").alias("feature", "importance"))
    return with_segment(exploded, labels_df)


def score_deciles(scores_df: DataFrame) -> DataFrame:
    """Customers and their scores per target and decile (1 = highest scores)."""
    return scores_df.groupBy("target", "decile").agg(
        F.count(F.lit(1)).alias("customers"), F.avg("score").alias("mean_score"),
        F.min("score").alias("min_score"), F.max("score").alias("max_score"))


def score_histogram(scores_df: DataFrame, bins: int = 20) -> DataFrame:
    """Customers per target and score bin of width 1/``bins`` (``lower`` is the bin's lower edge)."""
    bucket = F.least(F.floor(F.col("score") * bins), F.lit(bins - 1))
    return (scores_df.groupBy("target", bucket.alias("bin")).agg(F.count(F.lit(1)).alias("customers"))
            .withColumn("lower", F.col("bin") / bins))


def recommendation_evaluation(eval_df: DataFrame, labels_df: DataFrame) -> DataFrame:
    """The offline evaluation per method and segment (and "all customers"), labelled."""
    return with_segment(eval_df, labels_df).select(
        "method", "segment_id", "segment", "customers", "precision_at_k", "recall_at_k", "ndcg_at_k", "coverage",
        "k", "holdout_start")


def recommended_categories(recs_df: DataFrame, labels_df: DataFrame) -> DataFrame:
    """Recommendations per segment and category, with the category's share of the segment's
    recommendations and its rank among the segment's categories (1 = most recommended)."""
    counted = recs_df.groupBy("segment_id", "category").agg(F.count(F.lit(1)).alias("recommendations"))
    per_segment = Window.partitionBy("segment_id")
    ranked = counted.withColumns({
        "share": F.col("recommendations") / F.sum("recommendations").over(per_segment),
        "category_rank": F.row_number().over(per_segment.orderBy(F.col("recommendations").desc(), "category")),
    })
    return with_segment(ranked, labels_df, NO_SEGMENT)


def recommendation_sources(recs_df: DataFrame, labels_df: DataFrame) -> DataFrame:
    """Recommendations per segment and source (als, category_affinity), with the source's share."""
    counted = recs_df.groupBy("segment_id", "source").agg(F.count(F.lit(1)).alias("recommendations"))
    share = F.col("recommendations") / F.sum("recommendations").over(Window.partitionBy("segment_id"))
    return with_segment(counted.withColumn("share", share), labels_df, NO_SEGMENT)
