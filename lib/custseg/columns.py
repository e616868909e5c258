"""Column functions every stage may use (the data generator included).

Literal maps and sets are written as one SQL expression: built from ``F.lit`` and
``F.create_map`` each literal costs a call from Python into the JVM, and a table of country
names (some thousand literals) took a second to build, every time a job built it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

INT_RANGE = range(-(2**31), 2**31)


def sql_literal(value: Any) -> str:
    """``value`` (None, bool, int, float, str, or a list of them) as a Spark SQL literal of the
    type ``F.lit`` would give it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value) if value in INT_RANGE else f"{value}L"
    if isinstance(value, float):
        return f"CAST('{value}' AS DOUBLE)" if math.isnan(value) or math.isinf(value) else f"{value!r}D"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        return f"array({', '.join(sql_literal(v) for v in value)})"
    raise TypeError(f"no SQL literal for {type(value).__name__} {value!r}")


def literal_map(mapping: Mapping[Any, Any]) -> Column:
    """A map column holding ``mapping``, built in one call."""
    if not mapping:
        return F.create_map()
    return F.expr(f"map({', '.join(f'{sql_literal(k)}, {sql_literal(v)}' for k, v in mapping.items())})")


def literal_array(values: Iterable[Any]) -> Column:
    """An array column holding ``values``, built in one call."""
    return F.expr(f"array({', '.join(sql_literal(v) for v in values)})")


def is_one_of(value: Column, values: Iterable[Any]) -> Column:
    """``value.isin(*values)``, with the values built in one call (null stays null)."""
    return F.array_contains(literal_array(values), value)


def lookup(mapping: Mapping[Any, Any], key: Column) -> Column:
    """Value for ``key`` in a literal mapping, null when absent."""
    return F.try_element_at(literal_map(mapping), key)
