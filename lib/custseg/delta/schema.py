"""Schema checks shared by both engines."""

from __future__ import annotations

import json
from collections.abc import Sequence

from deltalake import DeltaTable
from pyspark.sql import types as T

from custseg.errors import TableError


def spark_schema_of(table: DeltaTable) -> T.StructType:
    """Spark's StructType for a delta-rs table (Delta's schema JSON is Spark's format)."""
    return T.StructType.fromJson(json.loads(table.schema().to_json()))


def check_writable_schema(schema: T.StructType, partition_by: Sequence[str], path: str) -> None:
    names = schema.fieldNames()
    missing = [c for c in partition_by if c not in names]
    if missing:
        raise TableError(f"cannot write {path}: partition column(s) {missing} not in columns {names}")
    lowered = [n.lower() for n in names]
    duplicated = sorted({n for n in names if lowered.count(n.lower()) > 1})
    if duplicated:
        raise TableError(f"cannot write {path}: column names differ only by case or repeat: {duplicated}")
    untyped = [f.name for f in schema.fields if isinstance(f.dataType, T.NullType)]
    if untyped:
        raise TableError(f"cannot write {path}: column(s) {untyped} have no type (a bare null literal); cast them")
    if len(partition_by) == len(names):
        raise TableError(f"cannot write {path}: at least one column must not be a partition column")


def describe_mismatch(expected: T.StructType, actual: T.StructType) -> str | None:
    """None when the columns and types agree (nullability aside), else what differs."""
    expected_types = {f.name: f.dataType.simpleString() for f in expected.fields}
    actual_types = {f.name: f.dataType.simpleString() for f in actual.fields}
    missing = sorted(set(expected_types) - set(actual_types))
    extra = sorted(set(actual_types) - set(expected_types))
    changed = sorted(
        f"{n} ({expected_types[n]} -> {actual_types[n]})"
        for n in set(expected_types) & set(actual_types)
        if expected_types[n] != actual_types[n]
    )
    parts = []
    if missing:
        parts.append(f"missing column(s) {missing}")
    if extra:
        parts.append(f"unexpected column(s) {extra}")
    if changed:
        parts.append(f"type changes {changed}")
    return "; ".join(parts) or None
