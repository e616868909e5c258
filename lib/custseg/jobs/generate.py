"""Job `generate`: built-in sample data (raw files) and its ground truth (Delta tables)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.files import remove
from custseg.generate import build_sample, publish_raw_files, stage_raw_files, truth_persons, truth_records
from custseg.runtime import JobContext, JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "generate", _generate, parent_run_id)


def _generate(ctx: JobContext) -> None:
    settings = ctx.config.generate
    sample = build_sample(ctx.spark, settings, ctx.config.clean.currency_rates)
    try:
        ctx.write("truth_persons", truth_persons(sample))
        ctx.write("truth_records", truth_records(sample))
        staging = join_path(ctx.config.raw_dir, f".incoming-{ctx.run_id}")
        ctx.after_commit(lambda: publish_raw_files(ctx.spark, staging, ctx.config.raw_dir, settings.people_export),
                         on_failure=lambda: remove(ctx.spark, staging))
        stage_raw_files(sample, staging, settings)
    except BaseException:
        sample.unpersist()
        raise
    ctx.after_commit(sample.unpersist)
    ctx.metrics.update({
        "seed": str(settings.seed),
        "persons": str(settings.customers),
        "bad_row_rate": str(settings.bad_row_rate),
        "raw_dir": ctx.config.raw_dir,
    })
