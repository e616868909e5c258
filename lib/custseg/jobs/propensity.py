"""Job `propensity`: churn and purchase models per segment, chosen against a global model, scored
in batch and tracked in MLflow (not part of `run_all`)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.act import propensity_body
from custseg.config import Config
from custseg.runtime import JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "propensity", propensity_body, parent_run_id)
