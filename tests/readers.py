"""Independent readers of Delta tables for tests: deltalake (delta-rs) and DuckDB."""

from __future__ import annotations

import gc
import os
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable


def deltalake_table(path: str, version: int | None = None) -> pa.Table:
    table = DeltaTable(path, version=version)
    data = table.to_pyarrow_table()
    del table
    gc.collect()
    return data


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """DuckDB with the delta extension from the duckdb-ext-delta wheel (no network)."""
    import duckdb_ext

    directory = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
    connection = duckdb.connect(config={
        "extension_directory": directory, "autoinstall_known_extensions": False, "autoload_known_extensions": False,
    })
    connection.execute("LOAD delta")
    return connection


def duckdb_rows(path: str, order_by: str) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    connection = duckdb_connection()
    try:
        rows = connection.execute(f"SELECT * FROM delta_scan('{path}') ORDER BY {order_by}").fetchall()
        types = [(r[0], r[1]) for r in connection.execute(f"DESCRIBE SELECT * FROM delta_scan('{path}')").fetchall()]
    finally:
        connection.close()
    return rows, types
