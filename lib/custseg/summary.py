"""The short report printed after a run: rows per stage, segments, tables and where to look."""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.runtime import JobResult


def render(spark: SparkSession, config: Config, results: list[JobResult]) -> str:
    lines = []
    for result in results:
        outputs = ", ".join(f"{k} {v:,} rows (v{result.output_versions.get(k, '?')})" for k, v in result.rows_out.items())
        lines.append(f"{result.job:<10} {result.duration_seconds:6.1f}s  {outputs}")
    return "\n".join(lines)
