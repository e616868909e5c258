"""Hybrid recommendations: ALS on implicit feedback (Spark ML, ``implicitPrefs``), re-ranked by
the customer's segment's category affinity, with a content-based fallback for cold-start
customers (their own category affinity, else their segment's, times product popularity).

Source: Hu, Koren and Volinsky, "Collaborative Filtering for Implicit Feedback Datasets"
(2008), which Spark's ALS implements. A final filter drops products out of stock and products
the customer bought within ``recent_purchase_days`` unless they are replenishable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from custseg.act.interactions import category_affinity, purchases
from custseg.config.model import RecommendSettings
from custseg.memory import stored


@dataclass
class Catalogue:
    products: DataFrame       # product_id, category, available, replenishable
    size: int


def catalogue(products_clean: DataFrame, settings: RecommendSettings) -> Catalogue:
    """Products with ``available`` (not out of stock; unknown stock counts as available) and
    ``replenishable`` (flagged, or in a replenishable category)."""
    frame = products_clean.select(
        "product_id", "category",
        F.coalesce(F.col("stock_units") > 0, F.lit(True)).alias("available"),
        (F.coalesce(F.col("replenishable"), F.lit(False))
         | F.col("category").isin(settings.replenishable_categories)).alias("replenishable"),
    ).persist()
    return Catalogue(frame, frame.count())


def with_index(frame: DataFrame, column: str, index: str) -> DataFrame:
    """Distinct values of ``column`` numbered 0.. in their sorted order (ALS needs int ids), kept.

    The numbering maps customers and products into ALS and its recommendations back, so both
    must read the same numbers. Rows leave a shuffle in the order their blocks arrive, so
    numbering ``distinct()``'s output gave each evaluation its own numbers once the input had
    many partitions, and recommendations went to other customers. Sorted values number the same
    every time, and the numbering is computed once."""
    # Spark built-ins, no Python: a partition's ids run on from the rows of the partitions before it.
    ordered = stored(frame.select(column).distinct().orderBy(column).select(
        column, F.spark_partition_id().alias("_part"), F.monotonically_increasing_id().alias("_id")))
    before = Window.orderBy("_part").rowsBetween(Window.unboundedPreceding, -1)
    starts = ordered.groupBy("_part").agg(F.count(F.lit(1)).alias("_rows"), F.min("_id").alias("_first")).select(
        "_part", "_first", F.coalesce(F.sum("_rows").over(before), F.lit(0)).alias("_offset"))
    numbered = ordered.join(F.broadcast(starts), "_part").select(
        column, (F.col("_offset") + F.col("_id") - F.col("_first")).cast("int").alias(index))
    return stored(numbered)


def als_candidates(feedback: DataFrame, settings: RecommendSettings) -> DataFrame:
    """customer_id, product_id, cf_score in [0, 1] (ALS score over the customer's best)."""
    customers = with_index(feedback, "customer_id", "user")
    items = with_index(feedback, "product_id", "item")
    ratings = feedback.join(customers, "customer_id").join(items, "product_id").select("user", "item", "weight")
    # ALS's default of ten blocks a side makes each iteration, and the 10 x 10 cross product of
    # recommendForAllUsers, that many tasks however few the cores: one block a core.
    blocks = max(1, feedback.sparkSession.sparkContext.defaultParallelism)
    # Unconstrained least squares, as in Hu, Koren and Volinsky: Spark's non-negative solver
    # returned all-zero factors once the confidence sums grew (790k customers of the generated
    # data), and every customer then got the same candidates.
    als = ALS(rank=settings.rank, maxIter=settings.max_iter, regParam=settings.reg_param, alpha=settings.alpha,
              implicitPrefs=True, userCol="user", itemCol="item", ratingCol="weight",
              coldStartStrategy="drop", seed=settings.seed, numUserBlocks=blocks, numItemBlocks=blocks)
    model = als.fit(ratings)
    recs = model.recommendForAllUsers(settings.candidates).select("user", F.explode("recommendations").alias("r"))
    scored = recs.select("user", F.col("r.item").alias("item"), F.col("r.rating").alias("raw"))
    best = F.max("raw").over(Window.partitionBy("user"))
    return (scored.join(customers, "user").join(items, "item")
            .select("customer_id", "product_id",
                    F.when(best > 0, F.greatest("raw", F.lit(0.0)) / best).otherwise(0.0).alias("cf_score")))


def popularity(feedback: DataFrame, cat: Catalogue, limit: int) -> DataFrame:
    """The ``limit`` available products with the most interaction weight: product_id, popularity in (0, 1]."""
    weights = feedback.groupBy("product_id").agg(F.sum("weight").alias("w"))
    top = (weights.join(cat.products.filter("available"), "product_id", "inner")
           .orderBy(F.desc("w"), "product_id").limit(limit))
    return top.select("product_id", (F.col("w") / F.max("w").over(Window.partitionBy())).alias("popularity"))


def recommend(feedback: DataFrame, customers: DataFrame, orders: DataFrame, lines: DataFrame, cat: Catalogue,
              end: dt.date, settings: RecommendSettings, segmented: DataFrame | None = None) -> DataFrame:
    """customer_id, segment_id, rank, product_id, category, score, source for every customer in
    ``customers`` (customer_id, segment_id), from the interactions in ``feedback``. Segment
    affinities come from every customer of ``segmented`` (default: ``customers``)."""
    members = customers if segmented is None else segmented
    # Stored, as are the ALS candidates and the blocked products: the ranking below reads each
    # in several branches, and on small data planning and running those again costs more than
    # keeping their rows.
    segment_affinity = stored(category_affinity(feedback.join(members, "customer_id"), cat.products, "segment_id"))
    if settings.mode == "per_segment":
        segment_ids = [r[0] for r in customers.select("segment_id").distinct().collect()]
        parts = [als_candidates(feedback.join(customers.filter(F.col("segment_id") == s), "customer_id", "left_semi"),
                                settings) for s in segment_ids]
        cf = parts[0]
        for part in parts[1:]:
            cf = cf.unionByName(part)
    else:
        cf = als_candidates(feedback, settings)
    cf = stored(cf)
    products = cat.products.select("product_id", "category")
    reranked = (cf.join(customers, "customer_id").join(products, "product_id")
                .join(segment_affinity, ["segment_id", "category"], "left")
                .select("customer_id", "product_id",
                        ((1 - settings.segment_weight) * F.col("cf_score")
                         + settings.segment_weight * F.coalesce("affinity", F.lit(0.0))).alias("score"),
                        F.lit("als").alias("source"), F.lit(0).alias("tier")))
    fallback = content_candidates(feedback, customers, cat, segment_affinity, settings)
    blocked = stored(recently_bought(orders, lines, cat, end, settings))
    ranked = (reranked.unionByName(fallback)
              .join(cat.products.filter("available").select("product_id"), "product_id", "left_semi")
              .join(blocked, ["customer_id", "product_id"], "left_anti"))
    order = Window.partitionBy("customer_id").orderBy("tier", F.desc("score"), "product_id")
    first = Window.partitionBy("customer_id", "product_id").orderBy("tier", F.desc("score"))
    unique = ranked.withColumn("_n", F.row_number().over(first)).filter("_n = 1").drop("_n")
    top = unique.withColumn("rank", F.row_number().over(order)).filter(F.col("rank") <= settings.top_n)
    return top.join(customers, "customer_id").join(products, "product_id").select(
        "customer_id", "segment_id", F.col("rank").cast("int"), "product_id", "category",
        F.least(F.greatest("score", F.lit(0.0)), F.lit(1.0)).alias("score"), "source")


def content_candidates(feedback: DataFrame, customers: DataFrame, cat: Catalogue, segment_affinity: DataFrame,
                       settings: RecommendSettings) -> DataFrame:
    """Cold start and top-up: popular products scored by the customer's category affinity (their
    own when they have interactions, else their segment's). Ranked after every ALS candidate."""
    popular = F.broadcast(popularity(feedback, cat, settings.candidates).join(
        cat.products.select("product_id", "category"), "product_id"))
    own = category_affinity(feedback, cat.products, "customer_id").withColumnRenamed("affinity", "own")
    pairs = customers.crossJoin(popular)
    scored = (pairs.join(own, ["customer_id", "category"], "left")
              .join(segment_affinity, ["segment_id", "category"], "left"))
    affinity = F.coalesce("own", "affinity", F.lit(0.0))
    return scored.select("customer_id", "product_id", (0.5 * affinity + 0.5 * F.col("popularity")).alias("score"),
                         F.lit("category_affinity").alias("source"), F.lit(1).alias("tier"))


def recently_bought(orders: DataFrame, lines: DataFrame, cat: Catalogue, end: dt.date,
                    settings: RecommendSettings) -> DataFrame:
    """customer_id, product_id of non-replenishable products bought in the last recent_purchase_days."""
    start = end - dt.timedelta(days=settings.recent_purchase_days)
    bought = purchases(orders, lines, start, end).select("customer_id", "product_id").distinct()
    return bought.join(cat.products.filter(~F.col("replenishable")).select("product_id"), "product_id", "left_semi")
