"""Parquet sources: files are checked one by one, since a bad file cannot be split into rows.

Each file's footer schema is read first. An unreadable file becomes one rejected record naming
the file; readable files are grouped by schema, columns are cast from whatever physical type
they have to the declared type, and rows that do not convert are rejected like text rows.
"""

from __future__ import annotations

import re
from collections import defaultdict

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config import SourceSpec
from custseg.ingest.parse import typed_columns


def parquet_records(spark: SparkSession, files: list[str], source: SourceSpec) -> tuple[DataFrame, int]:
    """(records with declared columns, source_file, source_line, value, reason; rows read)."""
    by_schema: dict[str, list[str]] = defaultdict(list)
    unreadable: list[tuple[str, int, str, str]] = []
    for path in files:  # footers only; one small metadata read per file
        try:
            by_schema[spark.read.parquet(path).schema.json()].append(path)
        except (PySparkException, Py4JJavaError) as exc:
            unreadable.append((path, 0, path, f"unreadable Parquet file: {_root_cause(exc)}"))
    frames = [_read_group(spark, group, source) for group in by_schema.values()]
    rows_read = sum(_row_count(spark, group) for group in by_schema.values()) + len(unreadable)
    if unreadable:
        bad = spark.createDataFrame(unreadable,
                                    "source_file string, source_line long, value string, structural_reason string")
        bad = bad.select("*", *[F.lit(None).cast("string").alias(f"raw_{c.name}") for c in source.columns])
        frames.append(typed_columns(bad, source.columns))
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result, rows_read


def _root_cause(error: Exception) -> str:
    """The innermost 'Caused by' line of a JVM error, or its first line."""
    text = str(error)
    causes = re.findall(r"Caused by: [\w.$]+: (.+)", text)
    return (causes[-1] if causes else text.strip().splitlines()[0])[:300]


def _read_group(spark: SparkSession, files: list[str], source: SourceSpec) -> DataFrame:
    frame = spark.read.parquet(*files)
    present = set(frame.columns)
    raw = frame.select(
        F.col("_metadata.file_path").alias("source_file"),
        (F.col("_metadata.row_index") + 1).alias("source_line"),
        F.to_json(F.struct(*[F.col(c) for c in frame.columns])).alias("value"),
        *[(F.col(c.name).cast("string") if c.name in present else F.lit(None).cast("string")).alias(f"raw_{c.name}")
          for c in source.columns],
        F.lit(None).cast("string").alias("structural_reason"),
    )
    return typed_columns(raw, source.columns)


def _row_count(spark: SparkSession, files: list[str]) -> int:
    return spark.read.parquet(*files).count()  # answered from footers
