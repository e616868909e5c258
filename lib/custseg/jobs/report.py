"""Job `report`: an HTML report of the latest segmentation run, its inputs and what changed
(`<storage.root>/reports/segments/<run id>.html`, and `latest.html`)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.report import gather, render
from custseg.runtime import JobContext, JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "report", _report, parent_run_id)


def _report(ctx: JobContext) -> None:
    data = gather(ctx)
    folder = join_path(ctx.config.reports_dir, "segments")
    final = ctx.publish_text(folder, f"{ctx.run_id}.html", render(ctx.run_id, data), latest="latest.html")
    ctx.metrics.update({"report": final, "segment_run_id": data.segment_run_id,
                        "segments": str(len(data.segments))})
