"""Job `recommend`: top products per customer from ALS with segment-aware re-ranking and a
cold-start fallback, evaluated offline against a popularity baseline (not part of `run_all`).
Only customers whose latest consent for `privacy.recommend_channel` is an opt-in get them."""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.act.recommend_stage import recommend_body
from custseg.config import Config
from custseg.governance.consent import opted_in
from custseg.runtime import JobContext, JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "recommend", _recommend, parent_run_id)


def _recommend(ctx: JobContext) -> None:
    recommend_body(ctx, opted_in(ctx, ctx.config.privacy.recommend_channel))
