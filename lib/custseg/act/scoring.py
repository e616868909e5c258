"""Batch scoring: each customer by the model its segment chose, with score deciles."""

from __future__ import annotations

from functools import reduce

from pyspark.ml import PipelineModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.act.models import SCORE, score

DECILE_CUTS = [i / 10 for i in range(1, 10)]


def score_by_segment(frame: DataFrame, chosen_versions: dict[int, str], models: dict[str, PipelineModel],
                     fallback_version: str, features: list[str]) -> DataFrame:
    """``frame`` with ``score`` and ``model_version``; a segment no model chose (new since
    training) is scored by ``fallback_version``."""
    by_version: dict[str, list[int]] = {}
    for segment_id, version in chosen_versions.items():
        by_version.setdefault(version, []).append(segment_id)
    parts = []
    for version, segment_ids in sorted(by_version.items()):
        rows = frame.filter(F.col("segment_id").isin(segment_ids))
        if version == fallback_version:
            unseen = ~F.col("segment_id").isin(list(chosen_versions))
            rows = frame.filter(F.col("segment_id").isin(segment_ids) | unseen)
        parts.append(score(models[version], rows, features).withColumn("model_version", F.lit(version)))
    if fallback_version not in by_version:
        rest = frame.filter(~F.col("segment_id").isin(list(chosen_versions)))
        scored = score(models[fallback_version], rest, features)
        parts.append(scored.withColumn("model_version", F.lit(fallback_version)))
    return reduce(DataFrame.unionByName, parts)


def with_deciles(scored: DataFrame) -> DataFrame:
    """``decile`` 1 (highest scores) to 10 from approximate quantile cut points of ``score``."""
    cuts = scored.approxQuantile(SCORE, DECILE_CUTS, 0.001)
    return scored.withColumn("decile", decile(F.col(SCORE), cuts))


def decile(value: Column, cuts: list[float]) -> Column:
    """10 minus the number of cut points ``value`` reaches: at or above all nine cuts is decile 1.
    Tree models give many customers the same score; where more than a tenth share the highest,
    the cut points meet at it, and they all belong to the top decile, not to none."""
    above = reduce(lambda a, b: a + b, [F.when(value >= cut, 1).otherwise(0) for cut in cuts], F.lit(0))
    return (F.lit(10) - above).cast("int")
