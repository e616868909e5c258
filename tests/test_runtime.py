"""The job runner: the run log, schema contracts, and no visible change when a job fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from custseg import __version__
from custseg.catalog import Catalog
from custseg.config import Config
from custseg.delta.deltars import DeltaRsStore
from custseg.errors import InputDataError, TableError
from custseg.runtime import JobContext, run_job, table_store
from custseg.tables.ops import INGEST_ACCOUNTING
from custseg.tables.silver import CLEANING_LOG


def _log_rows(spark: SparkSession, run_id: str, rule: str) -> DataFrame:
    return spark.createDataFrame([(run_id, "customer_records", "email", rule, 3, 10)], CLEANING_LOG.schema)


def _accounting_rows(spark: SparkSession, run_id: str, rows: int) -> DataFrame:
    return spark.createDataFrame(
        [(run_id, "crm", 1, rows, rows, 0, 0.0, 0.02, True, 0)], INGEST_ACCOUNTING.schema
    )


def _versions(spark: SparkSession, config: Config, *names: str) -> dict[str, int | None]:
    store, catalog = table_store(spark, config), Catalog(config)
    return {n: store.version(catalog.path(n)) if store.exists(catalog.path(n)) else None for n in names}


def _job_runs(spark: SparkSession, config: Config) -> list:  # type: ignore[type-arg]
    return table_store(spark, config).read(Catalog(config).path("job_runs")).orderBy("started_at").collect()


def test_successful_run_is_logged_with_rows_and_versions(spark: SparkSession, config: Config) -> None:
    def first(ctx: JobContext) -> None:
        ctx.write("cleaning_log", _log_rows(spark, ctx.run_id, "a"))

    def second(ctx: JobContext) -> None:
        assert ctx.read("cleaning_log").count() == 1
        ctx.write("ingest_accounting", _accounting_rows(spark, ctx.run_id, 5))
        ctx.metrics["answer"] = "42"

    run_job(spark, config, "first", first)
    result = run_job(spark, config, "second", second, parent_run_id="parent-1")
    assert result.status == "succeeded"
    assert result.input_versions == {"cleaning_log": 0}
    assert result.rows_in == {"cleaning_log": 1}
    assert result.output_versions == {"ingest_accounting": 0}
    runs = _job_runs(spark, config)
    assert [(r.job, r.status) for r in runs] == [("first", "succeeded"), ("second", "succeeded")]
    last = runs[-1]
    assert last.run_id == result.run_id and last.parent_run_id == "parent-1"
    assert last.rows_out == {"ingest_accounting": 1} and last.input_versions == {"cleaning_log": 0}
    assert last.metrics == {"answer": "42"}
    assert last.config_hash == config.config_hash and last.package_version == __version__
    assert last.delta_engine == "deltars" and last.error is None and last.duration_seconds >= 0
    history = table_store(spark, config).history(Catalog(config).path("ingest_accounting"))
    latest = history[0]
    assert (latest.job, latest.run_id, latest.input_versions) == ("second", result.run_id, {"cleaning_log": 0})


def test_failed_body_publishes_nothing_and_is_logged(spark: SparkSession, config: Config) -> None:
    run_job(spark, config, "setup", lambda ctx: ctx.write("cleaning_log", _log_rows(spark, ctx.run_id, "old")))
    table_dir = Path(Catalog(config).path("cleaning_log"))
    files_before = sorted(p.name for p in table_dir.rglob("*.parquet"))

    def failing(ctx: JobContext) -> None:
        ctx.write("cleaning_log", _log_rows(spark, ctx.run_id, "new"), mode="overwrite")
        ctx.write("ingest_accounting", _accounting_rows(spark, ctx.run_id, 1))
        raise RuntimeError("boom after staging two tables")

    with pytest.raises(RuntimeError, match="boom"):
        run_job(spark, config, "failing", failing)
    versions = _versions(spark, config, "cleaning_log", "ingest_accounting")
    assert versions == {"cleaning_log": 0, "ingest_accounting": None}
    assert sorted(p.name for p in table_dir.rglob("*.parquet")) == files_before  # staged files removed
    assert [r.rule for r in table_store(spark, config).read(str(table_dir)).collect()] == ["old"]
    failed = _job_runs(spark, config)[-1]
    assert (failed.job, failed.status) == ("failing", "failed")
    assert "RuntimeError: boom after staging two tables" in failed.error
    assert failed.output_versions == {}


def test_failed_commit_rolls_back_tables_already_committed(spark: SparkSession, config: Config,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run_job(spark, config, "setup", lambda ctx: ctx.write("cleaning_log", _log_rows(spark, ctx.run_id, "old")))
    real_commit = DeltaRsStore.commit

    def commit_failing_on_accounting(self, staged, info):  # type: ignore[no-untyped-def]
        if staged.table_path.endswith("ingest_accounting"):
            raise OSError("disk full while committing")
        return real_commit(self, staged, info)

    monkeypatch.setattr(DeltaRsStore, "commit", commit_failing_on_accounting)

    def job(ctx: JobContext) -> None:
        ctx.write("cleaning_log", _log_rows(spark, ctx.run_id, "new"), mode="overwrite")
        ctx.write("ingest_accounting", _accounting_rows(spark, ctx.run_id, 1))

    with pytest.raises(OSError, match="disk full"):
        run_job(spark, config, "half", job)
    store, catalog = table_store(spark, config), Catalog(config)
    # v1 held the new rows for an instant; v2 restores v0's content
    assert [r.rule for r in store.read(catalog.path("cleaning_log")).collect()] == ["old"]
    assert store.history(catalog.path("cleaning_log"))[0].operation == "RESTORE"
    assert not store.exists(catalog.path("ingest_accounting"))


def test_output_must_match_the_declared_schema(spark: SparkSession, config: Config) -> None:
    def wrong(ctx: JobContext) -> None:
        frame = _log_rows(spark, ctx.run_id, "x").drop("rule")
        ctx.write("cleaning_log", frame.withColumn("extra", frame.rows_total.cast("string")))

    with pytest.raises(TableError, match=r"cleaning_log does not match its declaration: "
                                         r"missing column\(s\) \['rule'\]; undeclared column\(s\) \['extra'\]"):
        run_job(spark, config, "wrong", wrong)


def test_required_columns_may_not_hold_nulls(spark: SparkSession, config: Config) -> None:
    def nulls(ctx: JobContext) -> None:
        frame = spark.createDataFrame([(ctx.run_id, None, "email", "r", 1, 2)], CLEANING_LOG.schema.simpleString())
        ctx.write("cleaning_log", frame)

    with pytest.raises(TableError, match=r"required column\(s\) hold nulls \(column: rows\) \{'table_name': 1\}"):
        run_job(spark, config, "nulls", nulls)
    assert _versions(spark, config, "cleaning_log") == {"cleaning_log": None}


def test_missing_input_table_names_the_job_to_run(spark: SparkSession, config: Config) -> None:
    with pytest.raises(InputDataError, match=r"job needy needs table 'customer_features', which does not exist yet"):
        run_job(spark, config, "needy", lambda ctx: ctx.read("customer_features"))


def test_a_table_cannot_be_written_twice_in_one_run(spark: SparkSession, config: Config) -> None:
    def twice(ctx: JobContext) -> None:
        ctx.write("cleaning_log", _log_rows(spark, ctx.run_id, "a"))
        ctx.write("cleaning_log", _log_rows(spark, ctx.run_id, "b"))

    with pytest.raises(TableError, match="writes table 'cleaning_log' twice"):
        run_job(spark, config, "twice", twice)
