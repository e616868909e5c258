"""Raw text lines with the file they came from and their 1-based line number.

Spark's text reader gives no line numbers, but it reads each file split in order inside one
task, and ``_metadata.file_block_start`` names the split. So a line's number is its position
within its split (from ``monotonically_increasing_id``, consecutive within a task) plus the
lines of the file's earlier splits. Only a small per-split table is aggregated; nothing is
collected to the driver.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from custseg.errors import InputDataError


def numbered_lines(spark: SparkSession, files: list[str]) -> tuple[DataFrame, DataFrame]:
    """(lines, splits): lines has source_file, source_line, value; splits one row per split.

    ``splits`` (file, block_start, lines) is small; callers may persist and count from it.
    """
    if not files:
        raise InputDataError("no input files")
    raw = spark.read.text(files).select(
        F.col("_metadata.file_path").alias("source_file"),
        F.col("_metadata.file_block_start").alias("block_start"),
        F.monotonically_increasing_id().alias("row_id"),
        F.regexp_replace(F.col("value"), "\r$", "").alias("value"),
    )
    earlier = Window.partitionBy("source_file").orderBy("block_start").rowsBetween(Window.unboundedPreceding, -1)
    splits = (
        raw.groupBy("source_file", "block_start")
        .agg(F.min("row_id").alias("first_row_id"), F.count(F.lit(1)).alias("lines"))
        .withColumn("lines_before", F.coalesce(F.sum("lines").over(earlier), F.lit(0)))
    )
    lines = raw.join(F.broadcast(splits.drop("lines")), on=["source_file", "block_start"], how="inner").select(
        "source_file",
        (F.col("row_id") - F.col("first_row_id") + F.col("lines_before") + 1).alias("source_line"),
        F.when(
            (F.col("row_id") == F.col("first_row_id")) & (F.col("lines_before") == 0),
            F.regexp_replace("value", "^\ufeff", ""),  # byte-order mark on a file's first line
        ).otherwise(F.col("value")).alias("value"),
    )
    return lines, splits.select("source_file", "block_start", "lines")
