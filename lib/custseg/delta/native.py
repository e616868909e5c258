"""The native engine: delta-spark's own writer and reader, used where its jars are on the classpath.

Staged files are plain Parquet under the staging root; ``commit`` rewrites them through
delta-spark (one Delta transaction per table), recording our commit info as ``userMetadata``.
The copy costs one extra write, the price of publishing several tables only after a whole job
succeeded without reaching into delta-spark's internal transaction API.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.delta.base import CommitInfo, HistoryEntry, StagedWrite, TableStore, WriteMode, parse_input_versions
from custseg.delta.schema import check_writable_schema, describe_mismatch
from custseg.errors import TableError


class NativeDeltaStore(TableStore):
    engine = "native"

    def _table(self, path: str):  # type: ignore[no-untyped-def]
        from delta.tables import DeltaTable  # imported late: needs the JVM classes

        if not DeltaTable.isDeltaTable(self.spark, path):
            raise TableError(f"no Delta table at {path}")
        return DeltaTable.forPath(self.spark, path)

    def stage(
        self, path: str, df: DataFrame, mode: WriteMode = "overwrite", partition_by: Sequence[str] = ()
    ) -> StagedWrite:
        partition_by = list(partition_by)
        check_writable_schema(df.schema, partition_by, path)
        staging = f"{self.staging_root}/{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        df.write.mode("error").partitionBy(*partition_by).parquet(staging)
        staged = StagedWrite(
            table_path=path, mode=mode, schema=df.schema, partition_by=partition_by,
            staging_path=staging, num_records=0, num_files=0,
        )
        counts = self.staged_dataframe(staged).agg(
            F.count(F.lit(1)).alias("__rows"), *[F.count_if(F.col(c).isNull()).alias(c) for c in df.columns]
        ).first()
        assert counts is not None
        staged.num_records = int(counts["__rows"])
        staged.null_counts = {c: int(counts[c]) for c in df.columns}
        return staged

    def commit(self, staged: StagedWrite, info: CommitInfo) -> int:
        if self.exists(staged.table_path) and staged.mode == "append":
            problem = describe_mismatch(self.schema(staged.table_path), staged.schema)
            if problem:
                raise TableError(f"cannot append to {staged.table_path}: {problem}")
        metadata = {**info.as_metadata(), "engine": self.engine, "rowsWritten": str(staged.num_records)}
        writer = (
            self.staged_dataframe(staged).write.format("delta").mode(staged.mode)
            .option("userMetadata", json.dumps(metadata)).partitionBy(*staged.partition_by)
        )
        if staged.mode == "overwrite":
            writer = writer.option("overwriteSchema", "true")
        if info.transaction is not None:  # delta-spark itself skips a (txnAppId, txnVersion) already committed
            writer = writer.option("txnAppId", info.transaction[0]).option("txnVersion", str(info.transaction[1]))
        writer.save(staged.table_path)
        staged.committed_version = self.version(staged.table_path)
        self.discard(staged)
        return staged.committed_version

    def discard(self, staged: StagedWrite) -> None:
        self._delete_recursively(staged.staging_path)

    def drop(self, path: str) -> None:
        self._delete_recursively(path)

    def _delete_recursively(self, path: str) -> None:
        jvm = self.spark.sparkContext._jvm
        jsc = self.spark.sparkContext._jsc
        assert jvm is not None and jsc is not None
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        hadoop_path.getFileSystem(jsc.hadoopConfiguration()).delete(hadoop_path, True)

    def exists(self, path: str) -> bool:
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(self.spark, path))

    def version(self, path: str) -> int:
        row = self._table(path).history(1).select("version").first()
        assert row is not None
        return int(row["version"])

    def read(self, path: str, version: int | None = None, timestamp: dt.datetime | str | None = None) -> DataFrame:
        self._table(path)  # a clear error when the table is missing
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        elif timestamp is not None:
            text = timestamp.isoformat() if isinstance(timestamp, dt.datetime) else timestamp
            reader = reader.option("timestampAsOf", text)
        return reader.load(path)

    def schema(self, path: str, version: int | None = None) -> T.StructType:
        return self.read(path, version).schema

    def row_count(self, path: str, version: int | None = None) -> int:
        return self.read(path, version).count()  # answered from the log's stats by delta-spark

    def history(self, path: str, limit: int | None = None) -> list[HistoryEntry]:
        rows = self._table(path).history(limit).select("version", "timestamp", "operation", "userMetadata").collect()
        entries = []
        for row in rows:  # bounded by the number of versions (and `limit`)
            details = json.loads(row["userMetadata"]) if row["userMetadata"] else {}
            rows_written = details.get("rowsWritten")
            entries.append(HistoryEntry(
                version=int(row["version"]),
                timestamp=row["timestamp"].replace(tzinfo=dt.UTC),
                operation=str(row["operation"]),
                job=details.get("job"),
                run_id=details.get("runId"),
                input_versions=parse_input_versions(details.get("inputVersions")),
                rows_written=int(rows_written) if rows_written is not None else None,
            ))
        return entries

    def vacuum(self, path: str, retention_hours: int, dry_run: bool = True) -> list[str]:
        self._table(path)
        self.spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
        dry = " DRY RUN" if dry_run else ""
        result = self.spark.sql(f"VACUUM delta.`{path}` RETAIN {int(retention_hours)} HOURS{dry}")
        return sorted(r[0] for r in result.collect()) if dry_run else []

    def restore(self, path: str, version: int, info: CommitInfo) -> int:
        metadata = {**info.as_metadata(), "engine": self.engine, "restoredVersion": str(version)}
        self.spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", json.dumps(metadata))
        try:
            self._table(path).restoreToVersion(version)
        finally:
            self.spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")
        return self.version(path)
