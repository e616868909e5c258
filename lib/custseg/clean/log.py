"""The cleaning log: per table, column and rule, how many rows a cleaning run changed or flagged."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def cleaning_log(run_id: str, table_name: str, cleaned: DataFrame, rows_total: int,
                 rules: Mapping[str, tuple[str, str]]) -> DataFrame:
    """Rows per quality flag of ``cleaned`` (which has ``quality_flags``), described by ``rules``
    (flag -> (column, rule)); flags without a description are logged under their own name."""
    spark = cleaned.sparkSession
    described = spark.createDataFrame(
        [(flag, column, rule) for flag, (column, rule) in rules.items()] or [("", "", "")],
        "flag string, column_name string, rule string",
    )
    flags = cleaned.select(F.explode("quality_flags").alias("flag"))
    counts = flags.groupBy("flag").agg(F.count(F.lit(1)).alias("rows_affected"))
    return counts.join(F.broadcast(described), on="flag", how="left").select(
        F.lit(run_id).alias("run_id"), F.lit(table_name).alias("table_name"),
        F.coalesce("column_name", F.regexp_extract("flag", r"^([a-z]+)", 1)).alias("column_name"),
        F.coalesce("rule", F.col("flag")).alias("rule"),
        F.col("rows_affected").cast("bigint"), F.lit(rows_total).cast("bigint").alias("rows_total"),
    )
