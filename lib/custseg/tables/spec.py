"""What a table declaration holds: name, layer, columns with types and meaning, partitioning.

A table's declared columns are its contract: the catalog's ``conform`` puts a DataFrame into
the declared order and refuses missing, extra or retyped columns by name, so a schema change is
always a deliberate edit in this package. Declarations are plain values: nothing here knows the
configuration, so config can check its rules against them before Spark starts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from pyspark.sql import types as T

WriteMode = Literal["append", "overwrite"]

Layer = Literal["bronze", "silver", "gold", "truth", "ops"]


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Spark SQL DDL type
    description: str
    nullable: bool = True

    @property
    def data_type(self) -> T.DataType:
        return _parsed(self.type)


@dataclass(frozen=True)
class TableSpec:
    name: str
    layer: Layer
    description: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()
    primary_key: tuple[str, ...] = ()
    mode: WriteMode = "overwrite"

    @property
    def schema(self) -> T.StructType:
        return T.StructType([
            T.StructField(c.name, c.data_type, c.nullable, {"comment": c.description}) for c in self.columns
        ])

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if not c.nullable]


@functools.cache
def _parsed(ddl: str) -> T.DataType:
    """Spark parses DDL in the JVM, a round trip per column of every table written: once per type is enough."""
    return T._parse_datatype_string(ddl)


def columns(*rows: tuple[str, str, str] | tuple[str, str, str, bool]) -> tuple[Column, ...]:
    """Compact declaration: (name, type, description[, nullable])."""
    return tuple(Column(*row) for row in rows)


# Bronze tables take their columns from conf/sources.yaml; these follow them in every one.
BRONZE_LINEAGE = columns(
    ("source_file", "string", "File the row was read from", False),
    ("source_line", "bigint", "1-based line (or row) number in that file", False),
    ("ingest_run_id", "string", "Run that ingested the row", False),
)
