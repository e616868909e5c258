"""Jobs: each module's ``run(spark, config, parent_run_id=None)`` runs one stage as a logged job."""

from __future__ import annotations

import importlib

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.runtime import JobResult

PIPELINE = ("generate", "ingest", "clean", "resolve", "features", "segment", "audit", "report")
STANDALONE = ("assign", "stream", "propensity", "recommend")  # jobs outside run_all

def run(name: str, spark: SparkSession, config: Config) -> list[JobResult]:
    """Run job ``name`` (or every stage, for ``run_all``); returns the results in order."""
    if name == "run_all":
        from custseg.jobs.run_all import run_all

        return run_all(spark, config)
    if name not in PIPELINE + STANDALONE:
        raise ValueError(f"unknown job {name!r}; known: {', '.join(PIPELINE + STANDALONE)}, run_all")
    module = importlib.import_module(f"custseg.jobs.{name}")
    return [module.run(spark, config)]
