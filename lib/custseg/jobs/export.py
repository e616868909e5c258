"""Job `export`: segment_export, the consented customers' segments with hashed identifiers."""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.governance.export import build_export
from custseg.runtime import JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "export", build_export, parent_run_id)
