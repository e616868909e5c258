"""`custseg segments diff --from V --to W`: the segment migration between two versions of
customer_segments (time travel), printed as a matrix and appended to segment_migrations."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.config import Config
from custseg.errors import InputDataError
from custseg.runtime import JobContext, JobResult, run_job
from custseg.segment.migration import migration_matrix


def run(
    spark: SparkSession, config: Config, from_version: int, to_version: int
) -> tuple[JobResult, list[dict[str, object]]]:
    found: list[dict[str, object]] = []

    def body(ctx: JobContext) -> None:
        if not ctx.table_exists("customer_segments"):
            raise InputDataError(f"segments diff: customer_segments does not exist yet "
                                 f"({ctx.catalog.path('customer_segments')}); run `custseg segment` first")
        before, after = (ctx.read("customer_segments", version=v) for v in (from_version, to_version))
        id_map = ctx.read_optional("customer_id_map")
        matrix = migration_matrix(before, after, id_map).select(
            F.lit(ctx.run_id).alias("run_id"), F.lit(from_version).cast("bigint").alias("from_version"),
            F.lit(to_version).cast("bigint").alias("to_version"), "*")
        written = ctx.write("segment_migrations", matrix)
        found.extend(r.asDict() for r in written.collect())  # segments x segments rows
        moved = sum(int(r["customers"]) for r in found if r["from_segment"] != r["to_segment"])  # type: ignore[call-overload]
        ctx.metrics.update({"from_version": str(from_version), "to_version": str(to_version),
                            "customers_moved": str(moved)})

    return run_job(spark, config, "segments_diff", body), found
