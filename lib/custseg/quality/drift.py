"""Drift: how far a table moved from its previous version (rows, null shares, distinct counts).

Row and null counts come from the Delta log's file statistics, so they cost no scan; distinct
counts (approximate, HyperLogLog) are computed only for the columns configured per table.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import DriftSettings
from custseg.quality.checks import CheckResult


def check_drift(table: str, rows: int, nulls: dict[str, int], frame: DataFrame, previous_rows: int,
                previous_nulls: dict[str, int], previous: DataFrame, settings: DriftSettings) -> list[CheckResult]:
    results = []
    if previous_rows:
        change = abs(rows - previous_rows) / previous_rows
        results.append(_drift(table, "drift_rows", None, change, settings.max_row_change, settings.severity,
                              f"rows {previous_rows:,} -> {rows:,}"))
    for column in sorted(set(nulls) & set(previous_nulls)):
        before = previous_nulls[column] / previous_rows if previous_rows else 0.0
        after = nulls[column] / rows if rows else 0.0
        results.append(_drift(table, "drift_null_share", column, abs(after - before), settings.max_null_share_change,
                              settings.severity, f"null share of {column} {before:.3f} -> {after:.3f}"))
    columns = [c for c in settings.distinct_columns.get(table, []) if c in frame.columns and c in previous.columns]
    if columns and previous_rows:
        now = frame.agg(*[F.approx_count_distinct(c).alias(c) for c in columns]).first()
        then = previous.agg(*[F.approx_count_distinct(c).alias(c) for c in columns]).first()
        assert now is not None and then is not None
        for column in columns:
            change = abs(now[column] - then[column]) / max(then[column], 1)
            results.append(_drift(table, "drift_distinct", column, change, settings.max_distinct_change,
                                  settings.severity, f"distinct {column} {then[column]:,} -> {now[column]:,}"))
    return results


def _drift(table: str, check: str, column: str | None, change: float, bound: float, severity: str,
           what: str) -> CheckResult:
    outcome = "ok" if change <= bound else "FAILED"
    target = f"({column})" if column else ""
    return CheckResult(table, f"{check}{target}", check, column, severity, 1, int(change > bound), change, bound,
                       f"{table}: {outcome}: {what} (change {change:.3f}, bound {bound:.3f})")
