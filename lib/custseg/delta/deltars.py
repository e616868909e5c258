"""The delta-rs engine: Spark writes Parquet in parallel, delta-rs commits the files.

Staging writes the files with Spark into ``<staging_root>/<write id>``, moves them into the
table folder under their partition folders (same filesystem, so a rename) and reads each
footer for the file statistics. Until ``commit`` adds them to the log no reader sees them;
files of a failed job are removed by ``discard`` or, at worst, by ``vacuum``.
Pitfalls handled here: add-action paths are the raw relative paths (delta-rs encodes them),
partition values are the unescaped folder names, and the Delta schema is built from Spark's
StructType rather than from a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Schema, Transaction
from deltalake.exceptions import DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions
from pyspark.sql import DataFrame
from pyspark.sql import types as T

from custseg.delta.base import CommitInfo, HistoryEntry, StagedWrite, TableStore, WriteMode, parse_input_versions
from custseg.delta.rows import Row, arrow_rows
from custseg.delta.schema import check_writable_schema, describe_mismatch, spark_schema_of
from custseg.delta.stats import file_stats, stats_json
from custseg.errors import TableError

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
READABLE_READER_FEATURES = {"timestampNtz"}


class DeltaRsStore(TableStore):
    engine = "deltars"

    def stage(
        self, path: str, df: DataFrame, mode: WriteMode = "overwrite", partition_by: Sequence[str] = ()
    ) -> StagedWrite:
        table_dir = _local_dir(path)
        partition_by = list(partition_by)
        check_writable_schema(df.schema, partition_by, path)
        write_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        staging = Path(_local_dir(self.staging_root)) / write_id
        df.write.mode("error").partitionBy(*partition_by).parquet(str(staging))
        data_schema = T.StructType([f for f in df.schema.fields if f.name not in partition_by])
        relative_files = sorted(
            str(p.relative_to(staging)) for p in staging.rglob("*.parquet") if not p.name.startswith((".", "_"))
        )
        with ThreadPoolExecutor(max_workers=8) as pool:
            actions = list(pool.map(lambda rel: _move_and_describe(staging, table_dir, rel, data_schema),
                                    relative_files))
        shutil.rmtree(staging, ignore_errors=True)
        staged = StagedWrite(
            table_path=str(table_dir), mode=mode, schema=df.schema, partition_by=partition_by,
            staging_path=str(table_dir), num_records=0, num_files=len(actions), actions=actions,
        )
        _summarize(staged, data_schema)
        return staged

    def stage_rows(
        self, path: str, rows: Sequence[Row], schema: T.StructType, mode: WriteMode = "overwrite",
        partition_by: Sequence[str] = (),
    ) -> StagedWrite:
        """One Parquet file written by pyarrow (``custseg.delta.rows``), described and committed
        like Spark's files; partitioned tables and Arrow-unsafe columns go through Spark."""
        table = None if partition_by else arrow_rows(rows, schema, path)
        if table is None:
            return super().stage_rows(path, rows, schema, mode, partition_by)
        check_writable_schema(schema, [], path)
        table_dir = Path(_local_dir(path))
        table_dir.mkdir(parents=True, exist_ok=True)
        relative = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
        pq.write_table(table, table_dir / relative, compression="snappy")
        staged = StagedWrite(
            table_path=str(table_dir), mode=mode, schema=schema, partition_by=[], staging_path=str(table_dir),
            num_records=0, num_files=1, actions=[_describe(table_dir, relative, schema)],
        )
        _summarize(staged, schema)
        return staged

    def staged_dataframe(self, staged: StagedWrite) -> DataFrame:
        files = [str(Path(staged.table_path) / a.path) for a in staged.actions]
        return self._read_files(staged.table_path, files, staged.schema, staged.partition_by)

    def commit(self, staged: StagedWrite, info: CommitInfo) -> int:
        metadata = {**info.as_metadata(), "engine": self.engine, "rowsWritten": str(staged.num_records)}
        transactions = [Transaction(*info.transaction)] if info.transaction else None
        properties = CommitProperties(custom_metadata=metadata, app_transactions=transactions)
        delta_schema = Schema.from_json(staged.schema.json())
        try:
            if not DeltaTable.is_deltatable(staged.table_path):
                create_table_with_add_actions(
                    staged.table_path, delta_schema, staged.actions, mode="error",
                    partition_by=staged.partition_by or None, commit_properties=properties,
                )
            else:
                table = DeltaTable(staged.table_path)
                self._check_compatible(table, staged)
                table.create_write_transaction(
                    staged.actions, staged.mode, delta_schema,
                    partition_by=staged.partition_by or None, commit_properties=properties,
                )
        except DeltaError as exc:
            raise TableError(f"commit to {staged.table_path} failed: {exc}") from exc
        staged.committed_version = _own_version(staged.table_path, info.run_id)
        return staged.committed_version

    def discard(self, staged: StagedWrite) -> None:
        if staged.committed_version is not None:
            return
        for action in staged.actions:
            Path(staged.table_path, action.path).unlink(missing_ok=True)

    def transaction_version(self, path: str, app_id: str) -> int | None:
        local = _local_dir(path)
        if not DeltaTable.is_deltatable(local):
            return None
        return DeltaTable(local).transaction_version(app_id)

    # -- reading -------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return DeltaTable.is_deltatable(_local_dir(path))

    def version(self, path: str) -> int:
        return self._load(path).version()

    def read(
        self, path: str, version: int | None = None, timestamp: dt.datetime | str | None = None
    ) -> DataFrame:
        table = self._load(path, version, timestamp)
        protocol = table.protocol()
        unsupported = set(protocol.reader_features or []) - READABLE_READER_FEATURES
        if protocol.min_reader_version == 2 or unsupported:
            raise TableError(
                f"table {path} needs Delta reader features {sorted(unsupported) or ['columnMapping']} "
                "that the deltars engine cannot read through Spark; use storage.delta_engine=native"
            )
        return self._read_files(_local_dir(path), table.file_uris(), spark_schema_of(table),
                                list(table.metadata().partition_columns))

    def schema(self, path: str, version: int | None = None) -> T.StructType:
        return spark_schema_of(self._load(path, version))

    def row_count(self, path: str, version: int | None = None) -> int:
        table = self._load(path, version)
        counts = pa.table(table.get_add_actions(flatten=True)).column("num_records")
        if counts.null_count:
            return self.read(path, version).count()
        return int(pa.compute.sum(counts).as_py() or 0)

    def null_counts(self, path: str, version: int | None = None) -> dict[str, int]:
        """From the log: each file's nullCount stats, plus rows of null partition values.
        Columns without stats in every file (nested ones) are left out rather than scanned."""
        table = self._load(path, version)
        actions = pa.table(table.get_add_actions(flatten=True))
        counts: dict[str, int] = {}
        if actions.num_rows == 0:
            return {f.name: 0 for f in spark_schema_of(table).fields}
        for field in spark_schema_of(table).fields:
            stat, partition = f"null_count.{field.name}", f"partition.{field.name}"
            if partition in actions.column_names:
                is_null = pa.compute.is_null(actions.column(partition))
                null_records = pa.compute.if_else(is_null, actions.column("num_records"), 0)
                counts[field.name] = int(pa.compute.sum(null_records).as_py() or 0)
            elif stat in actions.column_names and actions.column(stat).null_count == 0:
                counts[field.name] = int(pa.compute.sum(actions.column(stat)).as_py() or 0)
        return counts

    def history(self, path: str, limit: int | None = None) -> list[HistoryEntry]:
        return [_history_entry(e) for e in self._load(path).history(limit)]

    # -- maintenance ---------------------------------------------------------------------
    def vacuum(self, path: str, retention_hours: int, dry_run: bool = True) -> list[str]:
        removed = self._load(path).vacuum(
            retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=False, full=True
        )
        if not dry_run:
            _remove_stale_staging(Path(_local_dir(self.staging_root)), retention_hours)
        return sorted(removed)

    def restore(self, path: str, version: int, info: CommitInfo) -> int:
        table = self._load(path)
        metadata = {**info.as_metadata(), "engine": self.engine, "restoredVersion": str(version)}
        table.restore(version, commit_properties=CommitProperties(custom_metadata=metadata))
        return DeltaTable(_local_dir(path)).version()

    def drop(self, path: str) -> None:
        shutil.rmtree(_local_dir(path), ignore_errors=True)

    # -- internals -----------------------------------------------------------------------
    def _load(self, path: str, version: int | None = None, timestamp: dt.datetime | str | None = None) -> DeltaTable:
        local = _local_dir(path)
        try:
            table = DeltaTable(local)
        except TableNotFoundError as exc:
            raise TableError(f"no Delta table at {local}") from exc
        target: int | dt.datetime | str | None = version if version is not None else timestamp
        if target is not None:
            try:
                table.load_as_version(target)
            except (DeltaError, ValueError, OSError) as exc:
                latest = DeltaTable(local).version()
                raise TableError(f"table {local} has no version as of {target!r} (latest is {latest})") from exc
        return table

    def _read_files(self, table_dir: str, files: list[str], schema: T.StructType,
                    partition_by: Sequence[str]) -> DataFrame:
        if not files:
            return self.spark.createDataFrame([], schema)
        frame = self.spark.read.schema(schema).option("basePath", table_dir).parquet(*files)
        # Spark puts partition columns last; put them back in place (a py4j call per column, so only then).
        names = schema.fieldNames()
        in_place = names[len(names) - len(partition_by):] == list(partition_by)
        return frame if in_place else frame.select(*names)

    @staticmethod
    def _check_compatible(table: DeltaTable, staged: StagedWrite) -> None:
        existing_partitions = list(table.metadata().partition_columns)
        if existing_partitions != staged.partition_by:
            raise TableError(
                f"table {staged.table_path} is partitioned by {existing_partitions}, "
                f"the write by {staged.partition_by}"
            )
        if staged.mode == "append":
            problem = describe_mismatch(spark_schema_of(table), staged.schema)
            if problem:
                raise TableError(f"cannot append to {staged.table_path}: {problem}")


def _move_and_describe(staging: Path, table_dir: str, relative: str, data_schema: T.StructType) -> AddAction:
    source = staging / relative
    target = Path(table_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return _describe(Path(table_dir), relative, data_schema)


def _describe(table_dir: Path, relative: str, data_schema: T.StructType) -> AddAction:
    """The add action of data file ``relative`` in the table folder, with its footer's statistics."""
    target = table_dir / relative
    partition_values: dict[str, str | None] = {}
    for folder in Path(relative).parts[:-1]:
        key, _, raw_value = folder.partition("=")
        value = urllib.parse.unquote(raw_value)
        partition_values[urllib.parse.unquote(key)] = None if value == NULL_PARTITION else value
    status = target.stat()
    stats = file_stats(str(target), data_schema)
    return AddAction(relative, status.st_size, partition_values, int(status.st_mtime * 1000), True, stats_json(stats))


def _summarize(staged: StagedWrite, data_schema: T.StructType) -> None:
    """Totals over the staged files: rows, and null counts per column (for not-null checks)."""
    null_counts = {name: 0 for name in staged.schema.fieldNames()}
    for action in staged.actions:
        stats = json.loads(action.stats)
        staged.num_records += stats["numRecords"]
        for name in data_schema.fieldNames():
            if name in stats["nullCount"] and null_counts.get(name) is not None:
                null_counts[name] += stats["nullCount"][name]
            else:
                null_counts[name] = None  # type: ignore[assignment]  # unknown for this file
        for name, value in action.partition_values.items():
            if value is None:
                null_counts[name] += stats["numRecords"]
    staged.null_counts = {k: v for k, v in null_counts.items() if v is not None}


def _history_entry(entry: dict[str, Any]) -> HistoryEntry:
    details = dict(entry)
    if entry.get("userMetadata"):  # commits made by delta-spark carry ours as JSON here
        with contextlib.suppress(ValueError):
            details.update(json.loads(entry["userMetadata"]))
    rows = details.get("rowsWritten")
    return HistoryEntry(
        version=int(entry["version"]),
        timestamp=dt.datetime.fromtimestamp(int(entry["timestamp"]) / 1000, tz=dt.UTC),
        operation=str(entry.get("operation", "")),
        job=details.get("job"),
        run_id=details.get("runId"),
        input_versions=parse_input_versions(details.get("inputVersions")),
        rows_written=int(rows) if rows is not None else None,
    )


def _own_version(table_path: str, run_id: str, newest: int = 20) -> int:
    """The version this run's commit became: another writer may have committed after it, so the
    latest version is not necessarily ours. Read from the names of the newest commit files of
    the log and the run id in their commitInfo: the table's history numbers its entries from a
    snapshot that a concurrent commit can leave behind the log, and then names the wrong one."""
    log_dir = Path(_local_dir(table_path)) / "_delta_log"
    commits = sorted((int(p.stem), p) for p in log_dir.glob("*.json") if p.stem.isdigit())
    for version, path in reversed(commits[-newest:]):
        for line in path.read_text(encoding="utf-8").splitlines():
            action = json.loads(line)
            if action.get("commitInfo", {}).get("runId") == run_id:
                return version
    raise TableError(f"commit to {table_path} by run {run_id} is not among its {newest} newest commits")


def _remove_stale_staging(staging_root: Path, retention_hours: int) -> None:
    if not staging_root.is_dir():
        return
    cutoff = time.time() - retention_hours * 3600
    for folder in staging_root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _local_dir(path: str) -> str:
    if path.startswith("file://"):
        return urllib.parse.urlparse(path).path
    if "://" in path:
        raise TableError(
            f"the deltars engine writes local paths only, not {path}: "
            "use storage.delta_engine=native with delta-spark for remote storage"
        )
    return os.path.abspath(path)
