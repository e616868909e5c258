"""Job `erase`: remove persons from every table and log the request (`custseg erase --subject ...`)."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.governance import erase_person
from custseg.runtime import JobResult, run_job


def run(spark: SparkSession, config: Config, subjects: list[str], parent_run_id: str | None = None) -> JobResult:
    requested_at = dt.datetime.now(dt.UTC)
    return run_job(spark, config, "erase", lambda ctx: erase_person(ctx, subjects, requested_at), parent_run_id)
