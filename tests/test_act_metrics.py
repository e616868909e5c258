"""Propensity and ranking metrics on hand-made rows."""

from __future__ import annotations

import math
import random

import pytest
from pyspark.sql import SparkSession, Window

from custseg.act.metrics import binary_metrics
from custseg.act.ranking import ranking_metrics
from custseg.act.scoring import DECILE_CUTS, decile


def test_binary_metrics_of_a_perfect_ranking(spark: SparkSession) -> None:
    rows = [(1.0, 0.95)] + [(0.0, 0.05 * i) for i in range(1, 10)]
    metrics = binary_metrics(spark.createDataFrame(rows, "label double, score double"), "label", "score")
    assert (metrics.rows, metrics.positives, metrics.roc_auc) == (10, 1, 1.0)
    assert metrics.top_decile_capture == 1.0 and metrics.top_decile_lift == pytest.approx(10.0)
    expected_brier = (0.05 ** 2 + sum((0.05 * i) ** 2 for i in range(1, 10))) / 10
    assert metrics.brier == pytest.approx(expected_brier)
    assert [(b, n) for b, _, _, n in metrics.reliability] == [(0, 1), (1, 2), (2, 2), (3, 2), (4, 2), (9, 1)]
    assert metrics.reliability[-1][2] == 1.0  # the bin of 0.95 holds the one positive


def test_top_decile_takes_a_tenth_of_the_rows_when_scores_tie(spark: SparkSession) -> None:
    """40 of 100 rows share the top score and 20 of them are positive; the tenth holds 10 of those
    40, so it expects 5 positives: capture 5 / 25 and lift (5 / 10) / (25 / 100), not the figures
    of all 40 tied rows."""
    rows = [(1.0 if i < 20 else 0.0, 0.9) for i in range(40)] + [(1.0 if i < 5 else 0.0, 0.1) for i in range(60)]
    metrics = binary_metrics(spark.createDataFrame(rows, "label double, score double"), "label", "score")
    assert metrics.top_decile_capture == pytest.approx(5 / 25)
    assert metrics.top_decile_lift == pytest.approx((5 / 10) / (25 / 100))
    assert metrics.top_decile_capture == pytest.approx(metrics.top_decile_lift / 10)


def test_areas_equal_sparks_evaluator_and_scikit_learn_with_ties(spark: SparkSession) -> None:
    """Scores on a coarse grid (many ties, fewer than the evaluator's 1,000 bins, so it does not
    down-sample): the areas from the counts per score are the evaluator's, and ROC-AUC is
    scikit-learn's."""
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from sklearn.metrics import roc_auc_score

    generator = random.Random(5)
    rows = []
    for _ in range(600):
        score = generator.randrange(40) / 40
        rows.append((1.0 if generator.random() < score * 0.8 + 0.05 else 0.0, score))
    frame = spark.createDataFrame(rows, "label double, score double")
    metrics = binary_metrics(frame, "label", "score")
    evaluator = BinaryClassificationEvaluator(rawPredictionCol="score", labelCol="label")
    assert metrics.roc_auc == pytest.approx(evaluator.evaluate(frame), abs=1e-12)
    assert metrics.pr_auc == pytest.approx(evaluator.setMetricName("areaUnderPR").evaluate(frame), abs=1e-12)
    assert metrics.roc_auc == pytest.approx(roc_auc_score([r[0] for r in rows], [r[1] for r in rows]), abs=1e-12)
    assert metrics.brier == pytest.approx(sum((s - y) ** 2 for y, s in rows) / len(rows), abs=1e-12)
    # The top 60 rows: every row above the score that completes them, and a share of those at it.
    ranked = sorted(rows, key=lambda r: -r[1])
    cut = ranked[59][1]
    above = [y for y, s in rows if s > cut]
    tied = [y for y, s in rows if s == cut]
    expected = sum(above) + (60 - len(above)) / len(tied) * sum(tied)
    assert metrics.top_decile_capture == pytest.approx(expected / sum(y for y, _ in rows), abs=1e-12)
    bins: dict[int, list[tuple[float, float]]] = {}
    for y, s in rows:
        bins.setdefault(min(math.floor(s * 10), 9), []).append((y, s))
    assert metrics.reliability == [
        (b, pytest.approx(sum(s for _, s in members) / len(members), abs=1e-12),
         pytest.approx(sum(y for y, _ in members) / len(members), abs=1e-12), len(members))
        for b, members in sorted(bins.items())]


def test_binary_metrics_with_one_class_or_no_rows(spark: SparkSession) -> None:
    one_class = binary_metrics(spark.createDataFrame([(0.0, 0.2), (0.0, 0.4)], "label double, score double"),
                               "label", "score", calibrated=False)
    assert (one_class.roc_auc, one_class.top_decile_lift) == (None, None)
    assert (one_class.brier, one_class.reliability) == (None, [])
    with pytest.raises(ValueError, match="no rows to evaluate"):
        binary_metrics(spark.createDataFrame([], "label double, score double"), "label", "score")


def test_ranking_metrics_by_hand(spark: SparkSession) -> None:
    recs = spark.createDataFrame([("a", 1, "p1"), ("a", 2, "p2"), ("b", 1, "p3"), ("b", 2, "p1")],
                                 "customer_id string, rank int, product_id string")
    truth = spark.createDataFrame([("a", "p2"), ("a", "p9"), ("b", "p4")], "customer_id string, product_id string")
    customers = spark.createDataFrame([("a", 1), ("b", 2)], "customer_id string, segment_id int")
    result = {r.segment_id: r for r in ranking_metrics(recs, truth, customers, 2, 10).collect()}
    a_ndcg = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert result[1].precision_at_k == 0.5 and result[1].recall_at_k == 0.5
    assert result[1].ndcg_at_k == pytest.approx(a_ndcg)
    assert (result[2].precision_at_k, result[2].recall_at_k, result[2].ndcg_at_k) == (0.0, 0.0, 0.0)
    overall = result[None]
    assert overall.customers == 2 and overall.precision_at_k == 0.25 and overall.ndcg_at_k == pytest.approx(a_ndcg / 2)
    assert overall.coverage == pytest.approx(0.3)  # p1, p2, p3 of 10 products


def test_deciles_put_the_highest_scores_first(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(i / 100,) for i in range(100)], "score double")
    cuts = frame.approxQuantile("score", DECILE_CUTS, 0.0)
    got = {r.score: r.d for r in frame.select("score", decile(frame.score, cuts).alias("d")).collect()}
    assert got[0.99] == 1 and got[0.0] == 10 and got[0.5] == 5
    assert sorted(set(got.values())) == list(range(1, 11))
    # A fifth of the customers share the highest score: the top decile holds them all.
    tied = spark.createDataFrame([(min(i, 80) / 100,) for i in range(100)], "score double")
    cuts = tied.approxQuantile("score", DECILE_CUTS, 0.0)
    deciles = {r.d for r in tied.filter("score = 0.8").select(decile(tied.score, cuts).alias("d")).collect()}
    assert deciles == {1}


def test_als_ids_number_the_sorted_values_the_same_way_every_time(spark: SparkSession) -> None:
    """Customers and products go into ALS and come back through these numbers: a numbering that
    followed the order rows leave a shuffle would differ between the two."""
    from pyspark.sql import functions as F

    from custseg.act.recommend import with_index

    values = [f"C{n:04d}" for n in random.Random(5).sample(range(5000), 400)]
    frame = spark.createDataFrame([(v,) for v in values * 3], "customer_id string").repartition(8, F.rand(3))
    # Sorted into eight partitions, not coalesced into one: each partition's numbers run on from the last's.
    settings = {"spark.sql.shuffle.partitions": "8", "spark.sql.adaptive.coalescePartitions.enabled": "false"}
    kept = {key: spark.conf.get(key) for key in settings}
    try:
        for key, value in settings.items():
            spark.conf.set(key, value)
        numbered = with_index(frame, "customer_id", "user")
    finally:
        for key, value in kept.items():
            spark.conf.set(key, value)
    first = {r["customer_id"]: r["user"] for r in numbered.collect()}
    assert first == {v: i for i, v in enumerate(sorted(set(values)))}
    assert {r["customer_id"]: r["user"] for r in numbered.collect()} == first


def test_als_candidates_follow_tastes_when_confidence_is_large(spark: SparkSession) -> None:
    """Implicit ALS's confidence grows with the weights and, in the item step, with the number of
    customers. Spark's non-negative solver then collapsed: all-zero factors at 790k customers of
    ordinary weights, so every customer got the same candidates; here, at 2,000 heavy customers,
    two in five got a best new product outside their taste."""
    from pyspark.sql import functions as F

    from custseg.act.recommend import als_candidates
    from custseg.config.model import RecommendSettings

    rng = random.Random(7)
    rows = []
    for customer in range(2000):
        group = customer % 5  # five tastes of ten products each
        for product in rng.sample(range(10), 6):
            rows.append((f"C{customer:05d}", f"P{group}{product}", float(rng.randint(200, 1000))))
    feedback = spark.createDataFrame(rows, "customer_id string, product_id string, weight double")
    candidates = als_candidates(feedback, RecommendSettings(candidates=10))
    unseen = candidates.join(feedback, ["customer_id", "product_id"], "left_anti")
    best = unseen.withColumn("r", F.row_number().over(
        Window.partitionBy("customer_id").orderBy(F.desc("cf_score"), "product_id"))).filter("r = 1")
    in_taste = best.select((F.substring("product_id", 2, 1) == (F.substring("customer_id", 2, 5).cast("int") % 5))
                           .cast("int").alias("hit"))
    assert in_taste.agg(F.avg("hit")).first()[0] > 0.9  # type: ignore[index]  # 0.6 with the non-negative solver
