"""Reads at a named version (time travel) through the job context: recorded in the run's input
versions, in job_runs and in the commits, beside the version the run pinned."""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.delta.base import tables_read
from custseg.errors import InputDataError
from custseg.runtime import JobContext, run_job, table_store
from custseg.tables.ops import INGEST_ACCOUNTING
from custseg.tables.silver import CLEANING_LOG


def _log_rows(spark: SparkSession, run_id: str, rule: str) -> DataFrame:
    return spark.createDataFrame([(run_id, "customer_records", "email", rule, 3, 10)], CLEANING_LOG.schema)


def _accounting_rows(spark: SparkSession, run_id: str) -> DataFrame:
    return spark.createDataFrame([(run_id, "crm", 1, 1, 1, 0, 0.0, 0.02, True, 0)], INGEST_ACCOUNTING.schema)


@pytest.fixture
def three_versions(spark: SparkSession, config: Config) -> Config:
    """cleaning_log at versions 0, 1 and 2 (appends: 1, 2 and 3 rows)."""
    for rule in ("a", "b", "c"):
        run_job(spark, config, "setup", lambda ctx, r=rule: ctx.write("cleaning_log", _log_rows(spark, ctx.run_id, r)))
    return config


def test_a_read_at_another_version_is_recorded_beside_the_pinned_one(spark: SparkSession,
                                                                      three_versions: Config) -> None:
    config = three_versions
    rows: dict[str, int] = {}

    def body(ctx: JobContext) -> None:
        rows["version 0"] = ctx.read("cleaning_log", version=0).count()
        rows["pinned"] = ctx.read("cleaning_log").count()
        rows["version 2"] = ctx.read("cleaning_log", version=2).count()  # the pinned one: no key of its own
        ctx.write("ingest_accounting", _accounting_rows(spark, ctx.run_id))

    result = run_job(spark, config, "reader", body)
    assert rows == {"version 0": 1, "pinned": 3, "version 2": 3}
    assert result.input_versions == {"cleaning_log": 2, "cleaning_log@0": 0}
    assert result.rows_in == {"cleaning_log": 3, "cleaning_log@0": 1}
    store, catalog = table_store(spark, config), Catalog(config)
    logged = store.read(catalog.path("job_runs")).filter(f"run_id = '{result.run_id}'").collect()
    assert [r.input_versions for r in logged] == [{"cleaning_log": 2, "cleaning_log@0": 0}]
    commit = store.history(catalog.path("ingest_accounting"))[0]
    assert commit.input_versions == {"cleaning_log": 2, "cleaning_log@0": 0}
    assert tables_read(commit.input_versions) == [("cleaning_log", 0), ("cleaning_log", 2)]


def test_a_version_read_first_then_pinned_is_recorded_once(spark: SparkSession, three_versions: Config) -> None:
    def body(ctx: JobContext) -> None:
        ctx.read("cleaning_log", version=2).count()
        ctx.read("cleaning_log", version=1).count()
        ctx.read("cleaning_log").count()  # pins the latest, version 2, read above already

    result = run_job(spark, three_versions, "reader", body)
    assert result.input_versions == {"cleaning_log": 2, "cleaning_log@1": 1}
    assert result.rows_in == {"cleaning_log": 3, "cleaning_log@1": 2}


def test_a_version_the_table_does_not_have_is_refused(spark: SparkSession, three_versions: Config) -> None:
    for version in (3, -1):
        with pytest.raises(InputDataError, match=f"job reader: table cleaning_log has versions 0 to 2, not {version}"):
            run_job(spark, three_versions, "reader", lambda ctx, v=version: ctx.read("cleaning_log", version=v))


def test_a_missing_table_is_refused_at_any_version(spark: SparkSession, config: Config) -> None:
    with pytest.raises(InputDataError, match="job reader needs table 'cleaning_log', which does not exist yet"):
        run_job(spark, config, "reader", lambda ctx: ctx.read("cleaning_log", version=0))
