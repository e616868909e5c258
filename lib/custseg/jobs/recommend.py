"""Job `recommend`: top products per customer from ALS with segment-aware re-ranking and a
cold-start fallback, evaluated offline against a popularity baseline (not part of `run_all`)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.act.recommend_stage import recommend_body
from custseg.config import Config
from custseg.runtime import JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "recommend", recommend_body, parent_run_id)
