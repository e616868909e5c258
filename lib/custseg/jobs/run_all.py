"""Job `run_all`: every stage in order, under one parent run id."""

from __future__ import annotations

import importlib

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.runtime import JobResult
from custseg.runtime.runner import new_run_id


def run_all(spark: SparkSession, config: Config) -> list[JobResult]:
    from custseg.jobs import PIPELINE

    parent = new_run_id("run_all")
    results = []
    for name in PIPELINE:
        module = importlib.import_module(f"custseg.jobs.{name}")
        results.append(module.run(spark, config, parent_run_id=parent))
    return results
