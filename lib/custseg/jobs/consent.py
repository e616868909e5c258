"""Jobs `consent build` (consent events from the sources, recorded ones kept) and `consent set`."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.governance.consent import build_consent, record_consent
from custseg.runtime import JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "consent", build_consent, parent_run_id)


def record(spark: SparkSession, config: Config, customer_id: str, channel: str, status: str, by: str) -> JobResult:
    at = dt.datetime.now(dt.UTC)
    return run_job(spark, config, "consent_set", lambda ctx: record_consent(ctx, customer_id, channel, status, by, at))
