"""Looking for a person's values in tables and in data files, independently of Spark."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable


def _scalars(value: object) -> Iterator[object]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            # map columns come back as [(key, value), ...]
            yield from _scalars(item)
    elif value is not None:
        yield value


def find_in_arrow(table: pa.Table, needles: Iterable[object]) -> list[tuple[str, str]]:
    """(column, value) of every cell equal to a needle (text: any case), or text quoting one as a word."""
    texts = {str(n).lower() for n in needles if isinstance(n, str)}
    numbers = {n for n in needles if isinstance(n, int)}
    pattern = re.compile(
        r"(?<![a-z0-9])(" + "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True)) + r")(?![a-z0-9])"
    ) if texts else None
    found: list[tuple[str, str]] = []
    for name in table.column_names:
        for value in _scalars(table.column(name).to_pylist()):
            if isinstance(value, str):
                lowered = value.lower()
                if lowered in texts or (pattern is not None and len(lowered) > 3 and pattern.search(lowered)):
                    found.append((name, value))
            elif isinstance(value, int) and not isinstance(value, bool) and value in numbers:
                found.append((name, str(value)))
    return found


def find_in_current_versions(warehouse: Path, needles: Iterable[object]) -> dict[str, list[tuple[str, str]]]:
    """Per Delta table under ``warehouse``: the needles its current version still holds."""
    needles = list(needles)
    hits: dict[str, list[tuple[str, str]]] = {}
    for log in sorted(warehouse.glob("*/*/_delta_log")):
        table = DeltaTable(str(log.parent)).to_pyarrow_table()
        found = find_in_arrow(table, needles)
        if found:
            hits[log.parent.name] = found[:5]
        del table
    return hits


def find_in_data_files(warehouse: Path, needles: Iterable[object]) -> dict[str, list[tuple[str, str]]]:
    """Per Parquet file anywhere under ``warehouse`` (current, old or orphaned): the needles it holds."""
    needles = list(needles)
    hits: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(warehouse.rglob("*.parquet")):
        found = find_in_arrow(pq.read_table(path), needles)
        if found:
            hits[str(path.relative_to(warehouse))] = found[:5]
    return hits
