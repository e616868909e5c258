"""Crash safety and idempotence: a killed commit, a repeated run, two writers, orphaned files."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.delta import CommitInfo, TableStore
from custseg.errors import TableError
from custseg.runtime import JobContext, run_job, table_store
from tests.conftest import PROJECT, config_at

METRICS_SCHEMA = "run_id string, metric string, value double"
LOG_SCHEMA = ("run_id string, table_name string, column_name string, rule string, "
              "rows_affected bigint, rows_total bigint")

CHILD = r'''
import os, signal, sys
from custseg.config import load_config
from custseg.delta.deltars import DeltaRsStore
from custseg.runtime import run_job
from custseg.session import build_spark_session

conf_dir, root = sys.argv[1], sys.argv[2]
config = load_config(conf_dir, "local", [f"storage.root={root}", "storage.delta_engine=deltars",
                                         "spark.shuffle_partitions=1", "spark.driver_memory=1g"])
spark = build_spark_session(config, app_name="custseg-killed")

def body(ctx):
    ctx.write("resolution_metrics", spark.createDataFrame([(ctx.run_id, "m", 1.0)], "{metrics}"), mode="overwrite")
    ctx.write("cleaning_log", spark.createDataFrame([(ctx.run_id, "t", "c", "r", 1, 2)], "{log}"), mode="overwrite")

run_job(spark, config, "crash_test", body)  # a finished run: version 0 of both tables
commit = DeltaRsStore.commit

def commit_then_die(self, staged, info):
    version = commit(self, staged, info)
    os.kill(os.getpid(), signal.SIGKILL)  # after the run's first table, before the others
    return version

DeltaRsStore.commit = commit_then_die
run_job(spark, config, "crash_test", body)
'''.replace("{metrics}", METRICS_SCHEMA).replace("{log}", LOG_SCHEMA)


def _versions(config: Config) -> dict[str, int]:
    found = {}
    for log in Path(config.warehouse_dir).glob("*/*/_delta_log"):
        found[log.parent.name] = DeltaTable(str(log.parent)).version()
    return found


@pytest.mark.heavy
def test_a_run_killed_while_committing_is_put_back_and_logged_failed(
        spark: SparkSession, base_config: Config, tmp_path: Path) -> None:
    root = tmp_path / "root"
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.run([sys.executable, str(script), str(PROJECT / "conf"), str(root)],
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == -9, child.stderr[-2000:]
    config = config_at(base_config, root)
    store, catalog = table_store(spark, config), Catalog(config)
    # Killed between commits: each table is readable at its previous or its new version.
    assert _versions(config)["resolution_metrics"] == 1 and _versions(config)["cleaning_log"] == 0
    killed_run = store.read(catalog.path("resolution_metrics")).first().run_id
    first_run = store.read(catalog.path("cleaning_log")).first().run_id
    runs = {r.run_id: r.status for r in store.read(catalog.path("job_runs")).collect()}
    assert runs == {first_run: "succeeded"}  # a reader sees no finished run behind version 1
    assert list((root / "runs").glob("*.json")) != []

    run_job(spark, config, "next", lambda ctx: None)  # the next start finds the killed run
    assert store.read(catalog.path("resolution_metrics")).first().run_id == first_run
    assert store.read(catalog.path("cleaning_log")).first().run_id == first_run
    logged = {r.run_id: r for r in store.read(catalog.path("job_runs")).collect()}
    assert logged[killed_run].status == "failed" and "killed" in logged[killed_run].error
    assert "resolution_metrics to version 0" in logged[killed_run].error
    assert list((root / "runs").iterdir()) == []


def _append_log(ctx: JobContext) -> None:
    ctx.write("cleaning_log", ctx.spark.createDataFrame([(ctx.run_id, "t", "c", "r", 1, 2)], LOG_SCHEMA))


def test_rerunning_a_completed_run_changes_nothing(
        spark: SparkSession, config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTSEG_RUN_KEY", "daily.ingest.2026-06-30")
    first = run_job(spark, config, "keyed", _append_log)
    before = _versions(config)
    again = run_job(spark, config, "keyed", _append_log)
    assert again.run_id == first.run_id and again.metrics["skipped"] == "true"
    assert _versions(config) == before
    monkeypatch.setenv("CUSTSEG_RUN_KEY", "daily.ingest.2026-07-01")  # a new key is a new run
    assert run_job(spark, config, "keyed", _append_log).run_id != first.run_id
    assert _versions(config)["cleaning_log"] == before["cleaning_log"] + 1


@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_two_writers_commit_in_order_or_one_fails_clearly(
        spark: SparkSession, store: TableStore, tmp_path: Path, mode: str) -> None:
    path = str(tmp_path / "table")
    frame = lambda n: spark.createDataFrame([(f"w{n}", "m", float(n))], METRICS_SCHEMA)  # noqa: E731
    store.write(path, frame(0), CommitInfo("setup", "r0"))
    staged = [store.stage(path, frame(n), mode) for n in (1, 2)]
    barrier, outcomes = threading.Barrier(2), {}

    def commit(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = store.commit(staged[n - 1], CommitInfo("writer", f"r{n}"))
        except TableError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=commit, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = sorted(v for v in outcomes.values() if isinstance(v, int))
    errors = [e for e in outcomes.values() if isinstance(e, TableError)]
    assert versions == list(range(1, len(versions) + 1)) and len(versions) + len(errors) == 2
    assert all("commit to" in str(e) and "failed" in str(e) for e in errors)
    if mode == "append":
        assert versions == [1, 2]  # appends never conflict
    log_files = sorted(p.name for p in (tmp_path / "table" / "_delta_log").glob("*.json"))
    assert log_files == [f"{v:020d}.json" for v in range(len(versions) + 1)]
    for name in log_files:  # every commit is whole JSON lines
        for line in (tmp_path / "table" / "_delta_log" / name).read_text().splitlines():
            json.loads(line)
    rows = sorted(r.run_id for r in store.read(path).collect())
    expected = {"append": ["w0", "w1", "w2"]}.get(mode)
    assert rows == expected if expected else len(rows) == 1


def test_vacuum_removes_orphaned_files_of_a_failed_write(
        spark: SparkSession, store: TableStore, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    store.write(path, spark.createDataFrame([("kept", "m", 1.0)], METRICS_SCHEMA), CommitInfo("setup", "r0"))
    orphan = store.stage(path, spark.createDataFrame([("orphan", "m", 2.0)], METRICS_SCHEMA), "append")
    # the writer died here: its files sit in the table folder, in no version
    orphaned = [tmp_path / "table" / a.path for a in orphan.actions]
    assert orphaned and all(p.exists() for p in orphaned)
    assert [r.run_id for r in store.read(path).collect()] == ["kept"]
    removed = store.vacuum(path, retention_hours=0, dry_run=False)
    assert not any(p.exists() for p in orphaned) and len(removed) == len(orphaned)
    assert [r.run_id for r in store.read(path).collect()] == ["kept"]
    with pytest.raises(TableError, match="no Delta table"):
        store.vacuum(str(tmp_path / "missing"), retention_hours=0, dry_run=False)
