"""The delta-rs engine: Spark-written Parquet committed by delta-rs, read back identically by
Spark, deltalake and DuckDB, with stats, history, time travel and clear errors."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from custseg.delta import CommitInfo, TableStore, open_store
from custseg.errors import EnvironmentProblem, TableError
from tests.readers import deltalake_table, duckdb_rows

UTC = dt.UTC
SCHEMA = T.StructType([
    T.StructField("id", T.LongType(), False),
    T.StructField("amount", T.DecimalType(12, 2)),
    T.StructField("big_amount", T.DecimalType(38, 10)),
    T.StructField("seen_at", T.TimestampType()),
    T.StructField("day", T.DateType()),
    T.StructField("name", T.StringType()),
    T.StructField("tags", T.ArrayType(T.StringType())),
    T.StructField("active", T.BooleanType()),
    T.StructField("score", T.DoubleType()),
    T.StructField("country", T.StringType()),
])
ROWS = [
    (1, Decimal("12.34"), Decimal("123456789012345678.0123456789"),
     dt.datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC), dt.date(2024, 1, 1), "Zoë O'Brien", ["a", "b"], True, 1.5,
     "US"),
    (2, None, None, None, None, None, None, None, None, None),
    (3, Decimal("-5.00"), Decimal("0.0000000001"), dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
     dt.date(1970, 1, 1), "x" * 80, [], False, -0.25, "GB:a/b c%"),
    (4, Decimal("0.10"), Decimal("1"), dt.datetime(2026, 6, 30, 0, 0, tzinfo=UTC), dt.date(2026, 6, 30),
     "Müller, Jürgen", [None, "z"], None, None, "US"),
]
INFO = CommitInfo(job="test", run_id="run-1", input_versions={"upstream": 7})


@pytest.fixture
def frame(spark: SparkSession):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(ROWS, SCHEMA)


def _normalize(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    return value


EXPECTED = sorted([[_normalize(v) for v in row] for row in ROWS], key=lambda r: r[0])


def test_roundtrip_through_spark_deltalake_and_duckdb(  # type: ignore[no-untyped-def]
        spark: SparkSession, store: TableStore, frame, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    assert store.write(path, frame, INFO, partition_by=["country"]) == 0

    back = store.read(path)
    assert back.schema.simpleString() == SCHEMA.simpleString()
    assert_df_equality(back, frame, ignore_row_order=True, ignore_nullable=True)

    arrow = deltalake_table(path)
    assert str(arrow.schema.field("seen_at").type) == "timestamp[us, tz=UTC]"
    assert str(arrow.schema.field("amount").type) == "decimal128(12, 2)"
    assert str(arrow.schema.field("big_amount").type) == "decimal128(38, 10)"
    assert str(arrow.schema.field("day").type) == "date32[day]"
    assert str(arrow.schema.field("tags").type) in ("list<element: string>", "list<item: string>")
    by_arrow = sorted([[_normalize(r[c]) for c in SCHEMA.fieldNames()] for r in arrow.to_pylist()], key=lambda r: r[0])
    assert by_arrow == EXPECTED

    rows, types = duckdb_rows(path, "id")
    assert [[_normalize(v) for v in row] for row in rows] == EXPECTED
    assert dict(types) == {
        "id": "BIGINT", "amount": "DECIMAL(12,2)", "big_amount": "DECIMAL(38,10)",
        "seen_at": "TIMESTAMP WITH TIME ZONE", "day": "DATE", "name": "VARCHAR", "tags": "VARCHAR[]",
        "active": "BOOLEAN", "score": "DOUBLE", "country": "VARCHAR",
    }


def test_log_holds_exact_file_statistics(store: TableStore, frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "table"
    store.write(str(path), frame.coalesce(1), INFO)
    log_lines = (path / "_delta_log" / "00000000000000000000.json").read_text().splitlines()
    adds = [json.loads(line)["add"] for line in log_lines if "add" in json.loads(line)]
    assert len(adds) == 1
    stats = json.loads(adds[0]["stats"])
    assert stats["numRecords"] == 4
    assert stats["minValues"]["id"] == 1 and stats["maxValues"]["id"] == 4
    assert stats["minValues"]["amount"] == -5.0 and stats["maxValues"]["amount"] == 12.34
    assert stats["minValues"]["seen_at"] == "1999-12-31T23:59:59.999Z"  # floored to ms
    assert stats["maxValues"]["seen_at"] == "2026-06-30T00:00:00.000Z"
    assert stats["minValues"]["day"] == "1970-01-01" and stats["maxValues"]["day"] == "2026-06-30"
    assert stats["nullCount"] == {"id": 0, "amount": 1, "big_amount": 1, "seen_at": 1, "day": 1, "name": 1,
                                  "active": 2, "score": 2, "country": 1}
    # Bounds are left out where they could mislead a reader: long strings, wide decimals, floats.
    for column in ("name", "big_amount", "score", "active", "tags"):
        assert column not in stats["minValues"]


def test_columns_come_back_in_declared_order_whatever_the_partitioning(  # type: ignore[no-untyped-def]
        store: TableStore, frame, tmp_path: Path) -> None:
    for partition_by in (["day"], ["country"], ["active", "day"], []):
        path = str(tmp_path / "-".join(partition_by or ["none"]))
        store.write(path, frame, INFO, partition_by=partition_by)
        assert store.read(path).columns == SCHEMA.fieldNames(), partition_by
        staged = store.stage(path, frame, partition_by=partition_by)
        assert store.staged_dataframe(staged).columns == SCHEMA.fieldNames(), partition_by


def _add_stats(path: Path) -> list[dict]:  # type: ignore[type-arg]
    log = (path / "_delta_log" / "00000000000000000000.json").read_text().splitlines()
    return [json.loads(json.loads(line)["add"]["stats"]) for line in log if '"add"' in line]


def test_driver_rows_are_written_without_a_spark_job_as_spark_writes_them(
        spark: SparkSession, store: TableStore, tmp_path: Path) -> None:
    by_rows, by_spark = tmp_path / "rows", tmp_path / "spark"
    spark.sparkContext.setJobGroup("driver-rows", "stage_rows")
    store.commit(store.stage_rows(str(by_rows), ROWS, SCHEMA), INFO)
    assert spark.sparkContext.statusTracker().getJobIdsForGroup("driver-rows") == []
    store.write(str(by_spark), spark.createDataFrame(ROWS, SCHEMA).coalesce(1), INFO)
    assert_df_equality(store.read(str(by_rows)), store.read(str(by_spark)), ignore_row_order=True,
                       ignore_nullable=True)
    assert _add_stats(by_rows) == _add_stats(by_spark)
    assert deltalake_table(str(by_rows)).schema == deltalake_table(str(by_spark)).schema

    mappings = [{k: v for k, v in zip(SCHEMA.fieldNames(), row, strict=True) if v is not None} for row in ROWS]
    staged = store.stage_rows(str(tmp_path / "mappings"), mappings, SCHEMA)  # a missing key is a null
    assert (staged.num_records, staged.null_counts["score"]) == (4, 2)


def test_driver_rows_take_naive_times_as_local_maps_and_refuse_a_misfit(
        spark: SparkSession, store: TableStore, tmp_path: Path) -> None:
    schema = T.StructType([T.StructField("run", T.StringType()), T.StructField("at", T.TimestampType()),
                           T.StructField("counts", T.MapType(T.StringType(), T.LongType()))])
    rows = [("a", dt.datetime(2024, 3, 1, 12, 30), {"x": 1, "y": None}), ("b", None, None)]
    store.commit(store.stage_rows(str(tmp_path / "rows"), rows, schema), INFO)
    assert (sorted(store.read(str(tmp_path / "rows")).collect())
            == sorted(spark.createDataFrame(rows, schema).collect()))  # maps: no sort in Spark
    for misfit in [("c", "yesterday", {}), ("c", None, {"x": 1.5}), ("c", None, None, "extra"), ("c",)]:
        with pytest.raises(TableError, match="cannot write .*misfit.*row 1 does not fit"):
            store.stage_rows(str(tmp_path / "misfit"), [rows[0], misfit], schema)
    assert not (tmp_path / "misfit").exists()
    required = T.StructType([T.StructField("run", T.StringType(), False)])
    with pytest.raises(TableError, match="row 0 does not fit"):
        store.stage_rows(str(tmp_path / "misfit"), [(None,)], required)
    local = T.StructType([T.StructField("at", T.TimestampNTZType())])  # Arrow would shift an aware time: Spark writes
    noon = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    store.commit(store.stage_rows(str(tmp_path / "ntz"), [(noon,)], local), INFO)
    assert store.read(str(tmp_path / "ntz")).collect() == spark.createDataFrame([(noon,)], local).collect()
    partitioned = store.stage_rows(str(tmp_path / "by-run"), rows, schema, partition_by=["run"])
    assert sorted(a.partition_values["run"] for a in partitioned.actions) == ["a", "b"]


def test_timestamp_bounds_round_outwards_to_milliseconds(spark: SparkSession, store: TableStore,
                                                         tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    frame = spark.createDataFrame([(dt.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),)], "ts timestamp")
    store.write(path, frame, INFO)
    log = Path(path, "_delta_log", "00000000000000000000.json").read_text()
    all_stats = [json.loads(json.loads(line)["add"]["stats"]) for line in log.splitlines() if '"add"' in line]
    (stats,) = [s for s in all_stats if s["numRecords"] > 0]
    assert stats["minValues"]["ts"] == "2024-05-01T10:00:00.123Z"
    assert stats["maxValues"]["ts"] == "2024-05-01T10:00:00.124Z"
    connection_rows, _ = duckdb_rows(path, "ts")
    assert len(connection_rows) == 1  # a filter-free scan still sees the row


def test_append_overwrite_history_and_time_travel(  # type: ignore[no-untyped-def]
        spark: SparkSession, store: TableStore, frame, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    store.write(path, frame, INFO)
    before_append = dt.datetime.now(UTC)
    store.write(path, frame.filter("id = 1"), CommitInfo("appender", "run-2"), mode="append")
    store.write(path, frame.filter("id > 2"), CommitInfo("rewriter", "run-3", {"a": 1, "b": 2}), mode="overwrite")

    assert store.version(path) == 2
    assert sorted(r.id for r in store.read(path).collect()) == [3, 4]
    assert sorted(r.id for r in store.read(path, version=1).collect()) == [1, 1, 2, 3, 4]
    assert sorted(r.id for r in store.read(path, timestamp=before_append).collect()) == [1, 2, 3, 4]
    assert [store.row_count(path, v) for v in (0, 1, 2)] == [4, 5, 2]
    history = store.history(path)
    assert [(h.version, h.job, h.run_id, h.rows_written) for h in history] == [
        (2, "rewriter", "run-3", 2), (1, "appender", "run-2", 1), (0, "test", "run-1", 4),
    ]
    assert history[0].input_versions == {"a": 1, "b": 2}
    assert history[2].input_versions == {"upstream": 7}


def test_refused_append_leaves_table_and_folder_unchanged(store: TableStore, frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "table"
    store.write(str(path), frame, INFO)
    files_before = sorted(p.name for p in path.rglob("*.parquet"))
    with pytest.raises(TableError, match=r"cannot append to .*missing column\(s\) \['name'\]; type changes \['amount"):
        changed = frame.drop("name").withColumn("amount", frame.amount.cast("double"))
        store.write(str(path), changed, INFO, mode="append")
    assert store.version(str(path)) == 0
    assert sorted(p.name for p in path.rglob("*.parquet")) == files_before


def test_partitioning_cannot_change_silently(store: TableStore, frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "table")
    store.write(path, frame, INFO, partition_by=["country"])
    with pytest.raises(TableError, match=r"partitioned by \['country'\], the write by \[\]"):
        store.write(path, frame, INFO, mode="append")


def test_empty_write_keeps_schema_for_every_reader(spark: SparkSession, store: TableStore, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    store.write(path, spark.createDataFrame([], SCHEMA), INFO)
    assert store.read(path).count() == 0
    assert store.read(path).schema.simpleString() == SCHEMA.simpleString()
    assert deltalake_table(path).num_rows == 0
    rows, types = duckdb_rows(path, "id")
    assert rows == [] and len(types) == len(SCHEMA.fields)


def test_clear_errors_for_missing_table_and_version(store: TableStore, frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TableError, match=r"no Delta table at .*nothing"):
        store.read(str(tmp_path / "nothing"))
    path = str(tmp_path / "table")
    store.write(path, frame, INFO)
    with pytest.raises(TableError, match=r"has no version as of 5 \(latest is 0\)"):
        store.read(path, version=5)


def test_vacuum_and_restore(store: TableStore, frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "table")
    store.write(path, frame, INFO)
    store.write(path, frame.filter("id = 1"), INFO)
    assert store.restore(path, 0, CommitInfo("restorer", "run-9")) == 2
    assert store.row_count(path) == 4
    store.write(path, frame.filter("id = 2"), INFO)
    assert store.vacuum(path, retention_hours=0, dry_run=True)
    removed = store.vacuum(path, retention_hours=0, dry_run=False)
    assert removed and all(not Path(path, f).exists() for f in removed)
    assert [r.id for r in store.read(path).collect()] == [2]


def test_protocol_stays_readable_by_every_reader(store: TableStore, frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from deltalake import DeltaTable

    path = str(tmp_path / "table")
    store.write(path, frame, INFO)
    protocol = DeltaTable(path).protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)


def test_native_engine_roundtrip(native_store: TableStore, frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "table")
    assert native_store.write(path, frame, INFO, partition_by=["country"]) == 0
    assert_df_equality(native_store.read(path), frame, ignore_row_order=True, ignore_nullable=True,
                       ignore_column_order=True)
    assert native_store.history(path)[0].run_id == "run-1"
    assert sorted(row["id"] for row in deltalake_table(path).to_pylist()) == [1, 2, 3, 4]


def test_auto_falling_back_to_deltars_refuses_a_remote_root(spark: SparkSession, has_delta_jars: bool,
                                                            tmp_path: Path) -> None:
    if has_delta_jars:
        pytest.skip("auto picks the native engine where delta-spark is loaded")
    sentence = (r"^storage.delta_engine auto \(deltars, as delta-spark is not loaded\) keeps tables on the local disk "
                r"only, not under storage.root s3a://b/c: use storage.delta_engine native")
    with pytest.raises(EnvironmentProblem, match=sentence):
        open_store(spark, "auto", "s3a://b/c")
    assert open_store(spark, "auto", str(tmp_path)).engine == "deltars"
