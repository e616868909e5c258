"""One table API, two engines (after splink's DatabaseAPI: the session is passed in, and every
engine quirk lives in its own class).

Writes happen in two steps so that a job can write several tables and publish none of them
if it fails: ``stage`` writes the data files in parallel with Spark without touching the Delta
log, ``commit`` then publishes them as one atomic table version. ``write`` does both.
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from custseg.delta.rows import Row, as_tuple
from custseg.tables.spec import WriteMode


def input_key(table: str, version: int) -> str:
    """The key of a further version read of ``table``, in a run's input versions.

    Input versions (``CommitInfo``, ``HistoryEntry``, ``job_runs.input_versions``) map a key to a
    version: the version the run pinned for a table under the table's name, and each other
    version it read of that table (time travel) under ``table@version``. So a run that pinned
    customer_features at version 5 and also read its version 3 records ``{"customer_features": 5,
    "customer_features@3": 3}``, and readers that want the pinned version look up the name.
    """
    return f"{table}@{version}"


def tables_read(input_versions: Mapping[str, int]) -> list[tuple[str, int]]:
    """Every (table, version) that ``input_versions`` records, sorted."""
    return sorted({(key.split("@", 1)[0], version) for key, version in input_versions.items()})


@dataclass(frozen=True)
class CommitInfo:
    """What a commit records about the run that made it."""

    job: str
    run_id: str
    input_versions: Mapping[str, int] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)
    # (application id, version): a streaming writer's micro-batch, recorded in the commit so a
    # replayed batch is recognised (Delta's transaction identifiers, `txn` actions).
    transaction: tuple[str, int] | None = None

    def as_metadata(self) -> dict[str, str]:
        return {
            "job": self.job,
            "runId": self.run_id,
            "inputVersions": json.dumps(dict(sorted(self.input_versions.items()))),
            **self.extra,
        }


@dataclass
class StagedWrite:
    """Data files written for one table but not yet part of any table version."""

    table_path: str
    mode: WriteMode
    schema: StructType
    partition_by: list[str]
    staging_path: str
    num_records: int
    num_files: int
    # Engine-specific payload: delta-rs add actions, or nothing for the native engine.
    actions: list[Any] = field(default_factory=list)
    null_counts: dict[str, int] = field(default_factory=dict)
    committed_version: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    timestamp: dt.datetime
    operation: str
    job: str | None
    run_id: str | None
    input_versions: dict[str, int]
    rows_written: int | None


class TableStore(ABC):
    """Delta tables addressed by path. Implementations never collect table data to the driver."""

    engine: str = "abstract"

    def __init__(self, spark: SparkSession, staging_root: str):
        self.spark = spark
        self.staging_root = staging_root.rstrip("/")

    # -- writing -------------------------------------------------------------------------
    @abstractmethod
    def stage(
        self, path: str, df: DataFrame, mode: WriteMode = "overwrite", partition_by: Sequence[str] = ()
    ) -> StagedWrite:
        """Write ``df``'s data files for table ``path``; readers cannot see them yet."""

    def stage_rows(
        self, path: str, rows: Sequence[Row], schema: StructType, mode: WriteMode = "overwrite",
        partition_by: Sequence[str] = (),
    ) -> StagedWrite:
        """``stage`` for rows the driver holds (a run's log line, a job's metrics). An engine may
        write them without a Spark job, accepting and reading them as Spark would.

        Args:
            path: the table.
            rows: tuples in ``schema``'s column order, or mappings by column name.
            schema: the table's declared columns.
            mode: append or overwrite.
            partition_by: the table's partition columns.

        Returns:
            The staged files, for ``commit``.
        """
        return self.stage(path, self.spark.createDataFrame([as_tuple(r, schema) for r in rows], schema), mode,
                          partition_by)

    @abstractmethod
    def commit(self, staged: StagedWrite, info: CommitInfo) -> int:
        """Publish staged files as one new table version; returns that version."""

    def transaction_version(self, path: str, app_id: str) -> int | None:
        """The latest transaction version ``app_id`` committed to the table (None: none, or no table)."""
        return None

    def write_once(
        self, path: str, df: DataFrame, info: CommitInfo, mode: WriteMode = "append", partition_by: Sequence[str] = ()
    ) -> int | None:
        """Commit ``df`` as one version tagged with ``info.transaction``, unless the table already
        holds that application's commit at this version or a later one (a replayed micro-batch).

        Returns:
            The new table version, or None when the write was skipped as already done.
        """
        if info.transaction is None:
            raise ValueError("write_once needs CommitInfo.transaction = (app_id, version)")
        app_id, version = info.transaction
        done = self.transaction_version(path, app_id)
        if done is not None and done >= version:
            return None
        return self.commit(self.stage(path, df, mode, partition_by), info)

    @abstractmethod
    def discard(self, staged: StagedWrite) -> None:
        """Delete staged files that will never be committed."""

    def write(
        self,
        path: str,
        df: DataFrame,
        info: CommitInfo,
        mode: WriteMode = "overwrite",
        partition_by: Sequence[str] = (),
    ) -> int:
        staged = self.stage(path, df, mode, partition_by)
        try:
            return self.commit(staged, info)
        except BaseException:
            self.discard(staged)
            raise

    def staged_dataframe(self, staged: StagedWrite) -> DataFrame:
        """Read back what was staged, e.g. to reuse a result later in the same job."""
        return (
            self.spark.read.schema(staged.schema)
            .option("basePath", staged.staging_path)
            .parquet(staged.staging_path)
            .select(*staged.schema.fieldNames())
        )

    # -- reading -------------------------------------------------------------------------
    @abstractmethod
    def exists(self, path: str) -> bool: ...

    @abstractmethod
    def version(self, path: str) -> int:
        """Latest version; raises TableError if there is no table at ``path``."""

    @abstractmethod
    def read(
        self, path: str, version: int | None = None, timestamp: dt.datetime | str | None = None
    ) -> DataFrame:
        """The table at its latest version, or as of ``version`` or ``timestamp``."""

    @abstractmethod
    def schema(self, path: str, version: int | None = None) -> StructType: ...

    @abstractmethod
    def row_count(self, path: str, version: int | None = None) -> int:
        """Rows in a version, from the log's file statistics where available."""

    def null_counts(self, path: str, version: int | None = None) -> dict[str, int]:
        """Nulls per top-level column of a version. Engines may answer from the log."""
        frame = self.read(path, version)
        row = frame.agg(*[F.count_if(F.col(c).isNull()).alias(c) for c in frame.columns]).first()
        return {c: int(row[c]) for c in frame.columns} if row is not None else {}

    @abstractmethod
    def history(self, path: str, limit: int | None = None) -> list[HistoryEntry]:
        """Newest first."""

    # -- maintenance ---------------------------------------------------------------------
    @abstractmethod
    def vacuum(self, path: str, retention_hours: int, dry_run: bool = True) -> list[str]:
        """Delete files no version within the retention period needs; returns their paths."""

    @abstractmethod
    def restore(self, path: str, version: int, info: CommitInfo) -> int:
        """Make ``version``'s content current again, as a new version; returns it."""

    @abstractmethod
    def drop(self, path: str) -> None:
        """Delete a whole table: only to undo a table that a failed job created."""


def parse_input_versions(text: str | None) -> dict[str, int]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}

