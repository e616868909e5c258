"""Delta per-file statistics (numRecords, minValues, maxValues, nullCount) from Parquet footers.

Only footers are read: the data itself never reaches the driver. Bounds are written only when
they are certainly correct, since readers skip files on them:
- min/max for integer, date, timestamp (UTC, floored/ceiled to milliseconds as the Delta
  spec's JSON format allows only milliseconds), decimal up to 15 digits (exact in JSON) and
  short strings; never for floats (NaN ordering differs between engines), booleans, binary
  or nested columns;
- a column is left out entirely when any row group lacks statistics for it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pyarrow.parquet as pq
from pyspark.sql import types as T

MAX_STRING_STAT_LENGTH = 32


def file_stats(path: str, data_schema: T.StructType) -> dict[str, Any]:
    """Delta stats for one Parquet file written by Spark with ``data_schema`` (no partition columns)."""
    metadata = pq.read_metadata(path)
    stats: dict[str, Any] = {"numRecords": metadata.num_rows, "minValues": {}, "maxValues": {}, "nullCount": {}}
    column_index = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
    for spark_field in data_schema.fields:
        index = column_index.get(spark_field.name)
        if index is None or _is_nested(spark_field.dataType):
            continue
        column = _aggregate_row_groups(metadata, index)
        if column is None:
            continue
        null_count, minimum, maximum = column
        stats["nullCount"][spark_field.name] = null_count
        if minimum is None or null_count >= metadata.num_rows:
            continue
        bounds = _encode_bounds(spark_field.dataType, minimum, maximum)
        if bounds is not None:
            stats["minValues"][spark_field.name], stats["maxValues"][spark_field.name] = bounds
    return stats


def _aggregate_row_groups(metadata: pq.FileMetaData, index: int) -> tuple[int, Any, Any] | None:
    null_count = 0
    minimum: Any = None
    maximum: Any = None
    has_bounds = True
    for group in range(metadata.num_row_groups):
        statistics = metadata.row_group(group).column(index).statistics
        if statistics is None or statistics.null_count is None:
            return None
        null_count += statistics.null_count
        if statistics.has_min_max:
            minimum = statistics.min if minimum is None else min(minimum, statistics.min)
            maximum = statistics.max if maximum is None else max(maximum, statistics.max)
        elif statistics.num_values > 0:
            has_bounds = False  # values present but no bounds recorded: do not guess
    return null_count, (minimum if has_bounds else None), (maximum if has_bounds else None)


def _encode_bounds(data_type: T.DataType, minimum: Any, maximum: Any) -> tuple[Any, Any] | None:
    if isinstance(data_type, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return int(minimum), int(maximum)
    if isinstance(data_type, T.DateType):
        return minimum.isoformat(), maximum.isoformat()
    if isinstance(data_type, T.TimestampType) and minimum.tzinfo is not None:
        return _timestamp_ms(minimum, round_up=False), _timestamp_ms(maximum, round_up=True)
    if isinstance(data_type, T.DecimalType) and data_type.precision <= 15:
        low, high = float(minimum), float(maximum)
        return (low, high) if math.isfinite(low) and math.isfinite(high) else None
    if isinstance(data_type, T.StringType):
        if isinstance(minimum, bytes) or isinstance(maximum, bytes):
            return None
        if len(minimum) <= MAX_STRING_STAT_LENGTH and len(maximum) <= MAX_STRING_STAT_LENGTH:
            return minimum, maximum
    return None


def _timestamp_ms(value: dt.datetime, round_up: bool) -> str:
    value = value.astimezone(dt.UTC)
    micros = value.microsecond
    floored = value.replace(microsecond=micros - micros % 1000)
    if round_up and micros % 1000:
        floored += dt.timedelta(milliseconds=1)
    return floored.strftime("%Y-%m-%dT%H:%M:%S.") + f"{floored.microsecond // 1000:03d}Z"


def _is_nested(data_type: T.DataType) -> bool:
    return isinstance(data_type, (T.StructType, T.ArrayType, T.MapType))


def stats_json(stats: dict[str, Any]) -> str:
    return json.dumps(stats, separators=(",", ":"))
