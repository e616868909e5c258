"""Rows the driver holds, as the Arrow table a Parquet file of them is written from.

A run's log line or a job's metrics are a handful of rows, for which a Spark write costs a job
of about a second where pyarrow writes the file in a millisecond. The rows are checked by
Spark's own row verifier first, so they are refused or accepted exactly as
``createDataFrame`` would, and their values are taken as Spark takes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from deltalake import Schema
from pyspark.sql import types as T
from pyspark.sql.types import _make_type_verifier

from custseg.errors import TableError

Row = Sequence[Any] | Mapping[str, Any]


def as_tuple(row: Row, schema: T.StructType) -> tuple[Any, ...]:
    """``row`` in ``schema``'s column order; a mapping's missing key is a null, as in Spark."""
    return tuple(row.get(name) for name in schema.fieldNames()) if isinstance(row, Mapping) else tuple(row)


def arrow_rows(rows: Sequence[Row], schema: T.StructType, path: str) -> pa.Table | None:
    """``rows`` as an Arrow table of ``schema``, or None where only Spark writes them faithfully.

    Args:
        rows: tuples in ``schema``'s column order, or mappings by column name.
        schema: the table's declared columns.
        path: the table, for the error message.

    Returns:
        The Arrow table; None when a column holds times Arrow would read differently from Spark
        (timestamp_ntz anywhere, a timestamp inside a nested column).

    Raises:
        TableError: a row that does not fit the columns (its position and Spark's reason).
    """
    if not _arrow_reads_as_spark(schema):
        return None
    verify = _make_type_verifier(schema)
    tuples = [as_tuple(row, schema) for row in rows]
    for position, row in enumerate(tuples):
        try:
            verify(row)
        except (TypeError, ValueError) as exc:
            raise TableError(f"cannot write {path}: row {position} does not fit the table's columns: {exc}") from exc
    columns: dict[str, list[Any]] = {}
    for index, field in enumerate(schema.fields):
        values = [row[index] for row in tuples]
        if isinstance(field.dataType, T.TimestampType):  # Spark takes a naive time as local time
            values = [v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v for v in values]
        columns[field.name] = values
    try:
        return pa.Table.from_pydict(columns, pa.schema(Schema.from_json(schema.json()).to_arrow()))
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
        raise TableError(f"cannot write {path}: the rows do not fit the table's columns: {exc}") from exc


def _arrow_reads_as_spark(schema: T.StructType) -> bool:
    nested = (T.StructType, T.ArrayType, T.MapType)
    return not any("timestamp_ntz" in f.dataType.simpleString()
                   or (isinstance(f.dataType, nested) and "timestamp" in f.dataType.simpleString())
                   for f in schema.fields)
