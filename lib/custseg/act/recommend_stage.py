"""Job body of ``recommend``: evaluate the hybrid on a time-based holdout against popularity,
then recommend from all the data to every segmented customer who consented to hear of them."""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.act.inputs import CustomerData, customer_data, segment_model
from custseg.act.interactions import interactions, purchases
from custseg.act.ranking import popularity_recs, ranking_metrics
from custseg.act.recommend import Catalogue, catalogue, recommend
from custseg.act.stage import with_segments
from custseg.config.model import RecommendSettings
from custseg.features import build_features, default_as_of
from custseg.memory import PersistedDuringJob, stored
from custseg.runtime import SEGMENT_MODEL_RUN, JobContext
from custseg.tables.act import RECOMMENDATION_EVAL, RECOMMENDATIONS

EVAL_K = 10


def recommend_body(ctx: JobContext, consented_df: DataFrame) -> None:
    """Args:
        consented_df: customer_id of every customer whose latest consent for the channel that
            delivers recommendations is an opt-in; only they get recommendations. The offline
            evaluation, which delivers nothing, judges the model on every customer.
    """
    settings = ctx.config.recommend
    data = customer_data(ctx)
    cat = catalogue(ctx.read("products_clean"), settings)
    end = ctx.config.features.as_of or default_as_of(data.orders, data.events)
    # The evaluation's frames (its own interactions, ALS candidates and rankings) are released
    # once its rows are staged, so the recommendations for everyone start from an emptier heap.
    evaluation_frames = PersistedDuringJob(ctx.spark)
    evaluation = evaluate(ctx, data, cat, end, settings)
    # The staged table, not `evaluation`: that plan would fit the holdout's ALS model again.
    evaluated = ctx.write(RECOMMENDATION_EVAL.name, evaluation.select(*RECOMMENDATION_EVAL.schema.fieldNames()))
    evaluation_frames.release()
    segmented = ctx.read("customer_segments").select("customer_id", "segment_id")
    customers = stored(segmented.join(consented_df.select("customer_id"), "customer_id", "left_semi"))
    feedback = stored(interactions(data.orders, data.lines, data.events, end - dt.timedelta(days=settings.history_days),
                                   end, settings.weights))
    recs = recommend(feedback, customers, data.orders, data.lines, cat, end, settings)
    written = ctx.write(RECOMMENDATIONS.name, recs.withColumn("run_id", F.lit(ctx.run_id)))
    per_source = written.groupBy("source").agg(F.countDistinct("customer_id").alias("n")).collect()
    sources = {r["source"]: int(r["n"]) for r in per_source}
    overall = {r["method"]: r for r in evaluated.filter(F.col("segment_id").isNull()).collect()}
    ctx.metrics.update({"customers_without_consent": str(segmented.count() - customers.count()),
                        "customers_als": str(sources.get("als", 0)),
                        "customers_with_fallback": str(sources.get("category_affinity", 0)),
                        "holdout_start": (end - dt.timedelta(days=settings.holdout_days)).isoformat()})
    for method, row in overall.items():
        ctx.metrics[f"{method}_at_{EVAL_K}"] = json.dumps({
            "precision": round(row["precision_at_k"], 4), "recall": round(row["recall_at_k"], 4),
            "ndcg": round(row["ndcg_at_k"], 4), "coverage": round(row["coverage"], 4), "customers": row["customers"]})


def evaluate(ctx: JobContext, data: CustomerData, cat: Catalogue, end: dt.date,
             settings: RecommendSettings) -> DataFrame:
    """recommendation_eval rows: hybrid and popularity, trained before the holdout and judged on
    the products bought in it. Segments are those the saved model gives as of the holdout start."""
    cutoff = end - dt.timedelta(days=settings.holdout_days)
    segment_run, segments = segment_model(ctx)
    ctx.metrics[SEGMENT_MODEL_RUN] = segment_run  # whose segment ids recommendation_eval holds
    features = build_features(data.master, data.orders, data.lines, data.events, cutoff, ctx.config.features)
    feedback = stored(interactions(data.orders, data.lines, data.events,
                                   cutoff - dt.timedelta(days=settings.history_days), cutoff, settings.weights))
    truth = stored(purchases(data.orders, data.lines, cutoff, end).select("customer_id", "product_id").distinct())
    segmented = stored(with_segments(features, segments).select("customer_id", "segment_id"))
    customers = segmented.join(truth.select("customer_id").distinct(), "customer_id", "left_semi")
    hybrid = stored(recommend(feedback, customers, data.orders, data.lines, cat, cutoff, settings, segmented))
    baseline = stored(popularity_recs(feedback, customers, data.orders, data.lines, cat, cutoff, settings))
    frames = [ranking_metrics(recs, truth, customers, EVAL_K, cat.size).withColumn("method", F.lit(method))
              for method, recs in (("hybrid", hybrid), ("popularity", baseline))]
    return frames[0].unionByName(frames[1]).select(
        F.lit(ctx.run_id).alias("run_id"), "method", "segment_id", "customers", "precision_at_k", "recall_at_k",
        "ndcg_at_k", F.coalesce("coverage", F.lit(0.0)).alias("coverage"), F.lit(EVAL_K).alias("k"),
        F.lit(cutoff).alias("holdout_start"))
