"""Column functions every stage may use (the data generator included)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F


def lookup(mapping: Mapping[Any, Any], key: Column) -> Column:
    """Value for ``key`` in a literal mapping, null when absent."""
    pairs = [F.lit(x) for kv in mapping.items() for x in kv]
    return F.try_element_at(F.create_map(*pairs), key)
