"""Lineage of a table version: the job, run and input versions behind it, down to the raw files.

Every commit records its job, run id and the versions of the tables the run read
(``JobContext.commit_info``); ``job_runs`` adds the run's status, times and configuration hash.
Following the input versions from commit to commit reaches the bronze tables, whose rows name
the raw files they were read from. A version reached twice is shown once and then referred to.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.delta import HistoryEntry, TableStore
from custseg.delta.base import tables_read
from custseg.errors import InputDataError
from custseg.runtime import table_store

_MAX_FILES = 1000  # raw files listed per bronze version


def lineage_tree(spark: SparkSession, config: Config, table: str, version: int | None = None) -> dict[str, Any]:
    """The lineage of ``table`` at ``version`` (default: latest) as nested dicts, for printing or JSON.

    Raises:
        TableError: the table is not declared.
        InputDataError: the table or the version does not exist.
    """
    store, catalog = table_store(spark, config), Catalog(config)
    path = catalog.path(table)
    if not store.exists(path):
        raise InputDataError(f"lineage: table {table} has no data yet ({path})")
    latest = store.version(path)
    if version is not None and not 0 <= version <= latest:
        raise InputDataError(f"lineage: table {table} has versions 0 to {latest}, not {version}")
    walker = _Walker(store, catalog)
    return walker.node(table, latest if version is None else version)


class _Walker:
    def __init__(self, store: TableStore, catalog: Catalog):
        self.store, self.catalog = store, catalog
        self.seen: set[tuple[str, int]] = set()
        self.histories: dict[str, dict[int, HistoryEntry]] = {}

    def node(self, table: str, version: int) -> dict[str, Any]:
        entry = self._entry(table, version)
        result: dict[str, Any] = {"table": table, "version": version}
        if entry is None:
            return {**result, "missing": "no such version in the table's log"}
        result.update({"job": entry.job, "run_id": entry.run_id, "operation": entry.operation,
                       "committed_at": entry.timestamp.isoformat()})
        if (table, version) in self.seen:
            return {**result, "shown_above": True}
        self.seen.add((table, version))
        result["run"] = self._run(entry.run_id)
        inputs = [(name, v) for name, v in tables_read(entry.input_versions) if (name, v) != (table, version)]
        result["inputs"] = [self.node(name, v) for name, v in inputs if self._declared(name)]
        if entry.job == "ingest" and "source_file" in self.catalog.spec(table).schema.fieldNames():
            frame = self.store.read(self.catalog.path(table), version=version)
            files = frame.select("source_file").distinct().orderBy("source_file").limit(_MAX_FILES).collect()
            result["raw_files"] = [r.source_file for r in files]
        return result

    def _entry(self, table: str, version: int) -> HistoryEntry | None:
        if table not in self.histories:
            path = self.catalog.path(table)
            entries = self.store.history(path) if self.store.exists(path) else []
            self.histories[table] = {e.version: e for e in entries}
        return self.histories[table].get(version)

    def _declared(self, table: str) -> bool:
        return any(s.name == table for s in self.catalog.specs())

    def _run(self, run_id: str | None) -> dict[str, Any] | None:
        path = self.catalog.path("job_runs")
        if run_id is None or not self.store.exists(path):
            return None
        row = self.store.read(path).filter(F.col("run_id") == run_id).select(
            "status", "parent_run_id", "started_at", "ended_at", "config_hash", "config_env", "package_version",
        ).first()
        if row is None:
            return {"status": "no job_runs row (a run that was stopped before it logged itself)"}
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.asDict().items()}


def render(tree: dict[str, Any], depth: int = 0) -> str:
    """The tree as indented text, one table version per line."""
    pad = "  " * depth
    head = f"{pad}{tree['table']} v{tree['version']}"
    if "missing" in tree:
        return f"{head}: {tree['missing']}"
    run = tree.get("run") or {}
    head += f" <- {tree.get('job') or tree.get('operation')} run {tree.get('run_id')}"
    if run:
        head += f" ({run.get('status')}, config {run.get('config_hash', '?')})"
    if tree.get("shown_above"):
        return head + " (shown above)"
    lines = [head]
    files = tree.get("raw_files") or []
    if files:
        lines.append(f"{pad}  raw files ({len(files)}): " + ", ".join(files[:5]) + (" ..." if len(files) > 5 else ""))
    lines += [render(child, depth + 1) for child in tree.get("inputs", [])]
    return "\n".join(lines)
