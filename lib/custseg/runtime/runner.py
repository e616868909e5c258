"""Run one job: open the table store, run the body, commit its outputs, log the run.

Every run, succeeded or failed, appends a row to ``job_runs``. A failed body leaves every
output table at its previous version: its staged files are discarded and nothing is committed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pyspark
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg import __version__
from custseg.catalog import Catalog
from custseg.config import Config
from custseg.delta import TableStore, open_store
from custseg.delta.rows import arrow_rows
from custseg.errors import CustsegError
from custseg.memory.failures import (
    FailurePlace,
    classify,
    dying_jvm_exit_code,
    explain,
    heap_max_bytes,
    jvm_alive,
    mark,
)
from custseg.runtime.context import JobContext
from custseg.runtime.recovery import mark_finished, mark_started, recover
from custseg.tables.ops import JOB_RUNS

log = logging.getLogger(__name__)
JobBody = Callable[[JobContext], None]
# A scheduler's name for one task attempt (e.g. dag.task.date): a job whose run key already has a
# succeeded run does nothing, so a retried task that had in fact finished changes no table.
RUN_KEY_ENV = "CUSTSEG_RUN_KEY"


@dataclass
class JobResult:
    job: str
    run_id: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_out: dict[str, int] = field(default_factory=dict)
    input_versions: dict[str, int] = field(default_factory=dict)
    output_versions: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    # RDDs the job left persisted that were released when it ended, and any still held after that.
    persisted_released: int = 0
    persisted_left: int = 0

    @property
    def duration_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


def new_run_id(job: str) -> str:
    return f"{job}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def table_store(spark: SparkSession, config: Config) -> TableStore:
    return open_store(spark, config.storage.delta_engine, config.root_dir)


def run_job(
    spark: SparkSession, config: Config, job: str, body: JobBody, parent_run_id: str | None = None
) -> JobResult:
    """Run ``body`` as job ``job``; raise its error after logging the failed run.

    The error carries where the job failed (``custseg.memory.place_of``) for the CLI to explain.
    Whatever the job persisted is released when it ends, succeeded or failed.
    """
    store = table_store(spark, config)
    catalog = Catalog(config)
    ctx = JobContext(spark, config, store, catalog, job, new_run_id(job))
    started = dt.datetime.now(dt.UTC)
    _recover_killed_runs(spark, config, store, catalog, ctx.run_id)
    run_key = os.environ.get(RUN_KEY_ENV)
    done = _succeeded_run(spark, store, catalog, job, run_key) if run_key else None
    if done is not None:
        log.info("%s: run key %s already succeeded as run %s; nothing to do", job, run_key, done.run_id)
        return done
    if run_key:
        ctx.metrics["run_key"] = run_key
    mark_started(config, ctx.run_id, job, started, parent_run_id)
    log.info("%s: started run %s (delta engine %s)", job, ctx.run_id, store.engine)
    spark.sparkContext.setJobGroup(ctx.run_id, f"custseg {job}", interruptOnCancel=True)
    ctx.track_persisted()
    heap, memory = heap_max_bytes(spark), _driver_memory(spark)
    job_runs_schema = JOB_RUNS.schema.json()  # parsed by the JVM: known now, in case it dies
    error: Exception | None = None
    try:
        body(ctx)
        ctx.commit()
    except Exception as exc:
        error = exc
        mark(exc, FailurePlace(job, ctx.run_id, ctx.step, memory, heap))
        try:
            ctx.discard()
        except Exception:  # staged files of a dead session; no table references them
            log.warning("%s: could not discard its staged writes", job, exc_info=True)
    alive = error is None or jvm_alive(spark)
    released, left = _release(ctx, failing=error is not None) if alive else (0, 0)
    result = JobResult(
        job=job, run_id=ctx.run_id, status="failed" if error else "succeeded",
        started_at=started, ended_at=dt.datetime.now(dt.UTC),
        rows_in=dict(ctx.rows_in), rows_out=dict(ctx.rows_out) if not error else {},
        input_versions=dict(ctx.input_versions), output_versions=dict(ctx.output_versions),
        metrics=dict(ctx.metrics), error=_describe(error) if error else None,
        persisted_released=released, persisted_left=left,
    )
    try:
        if alive:
            _record(spark, config, store, catalog, result, parent_run_id)
        else:
            record_without_jvm(config, catalog, result, parent_run_id, job_runs_schema)
    except Exception:
        if error is None:
            raise
        log.warning("%s: could not record the failed run in job_runs", job, exc_info=True)
    finally:
        mark_finished(config, ctx.run_id)  # the process outlived the run: nothing to recover
    if error is not None:
        log.error("%s: failed after %.1fs: %s", job, result.duration_seconds, _first_line(error))
        raise error
    log.info("%s: succeeded in %.1fs", job, result.duration_seconds)
    return result


def _release(ctx: JobContext, failing: bool) -> tuple[int, int]:
    """Free what the job persisted: (RDDs released, RDDs still held). Never fails a job that succeeded."""
    try:
        released, left = ctx.release_persisted(), ctx.persisted_left()
    except Exception:
        log.warning("%s: could not release its persisted data", ctx.job, exc_info=not failing)
        return 0, 0
    if released:
        log.info("%s: released %d persisted RDD(s)", ctx.job, released)
    if left:
        log.warning("%s: %d RDD(s) it persisted are still held", ctx.job, left)
    return released, left


def _driver_memory(spark: SparkSession) -> str | None:
    try:
        return spark.conf.get("spark.driver.memory", None)  # not getConf(): that copies every setting over py4j
    except Exception:  # a JVM that died takes its configuration with it
        return None


def _first_line(error: Exception) -> str:
    if isinstance(error, CustsegError):
        return str(error)
    return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:300]}"


def _recover_killed_runs(
    spark: SparkSession, config: Config, store: TableStore, catalog: Catalog, run_id: str
) -> None:
    """Put back the tables of runs killed since the last start, and log those runs as failed."""
    for killed in recover(config, store, catalog, run_id):
        restored = ", ".join(f"{t} to version {v}" if v is not None else f"{t} dropped"
                             for t, v in sorted(killed.restored.items())) or "no table had been committed"
        result = JobResult(
            job=killed.job, run_id=killed.run_id, status="failed", started_at=killed.started_at,
            ended_at=dt.datetime.now(dt.UTC), metrics={"recovered_by": run_id},
            error=f"the run's process ended without finishing (killed); found by run {run_id}: {restored}",
        )
        _record(spark, config, store, catalog, result, killed.parent_run_id)
        mark_finished(config, killed.run_id)


def _succeeded_run(
    spark: SparkSession, store: TableStore, catalog: Catalog, job: str, run_key: str
) -> JobResult | None:
    path = catalog.path(JOB_RUNS.name)
    if not store.exists(path):
        return None
    same_key = (F.col("job") == job) & (F.col("status") == "succeeded") & (F.col("metrics")["run_key"] == run_key)
    row = store.read(path).filter(same_key).orderBy(F.col("ended_at").desc()).first()
    if row is None:
        return None
    return JobResult(
        job=job, run_id=row.run_id, status="succeeded", started_at=row.started_at, ended_at=row.ended_at,
        rows_in=dict(row.rows_in or {}), rows_out=dict(row.rows_out or {}),
        input_versions=dict(row.input_versions or {}), output_versions=dict(row.output_versions or {}),
        metrics={**dict(row.metrics or {}), "skipped": "true"},
    )


def _describe(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, CustsegError):
        return text  # already one clear sentence
    exit_code = dying_jvm_exit_code(error)
    if classify(error, exit_code) != "other":  # the sentence says more than a broken connection
        return explain(error, "run", exit_code)
    return text + "\n" + "".join(traceback.format_exception(error)[-3:])


def _run_row(config: Config, result: JobResult, parent_run_id: str | None, master: str, engine: str) -> dict:
    return {
        "run_id": result.run_id, "parent_run_id": parent_run_id, "job": result.job,
        "status": result.status, "started_at": result.started_at, "ended_at": result.ended_at,
        "duration_seconds": result.duration_seconds, "rows_in": result.rows_in,
        "rows_out": result.rows_out, "input_versions": result.input_versions,
        "output_versions": result.output_versions, "metrics": result.metrics,
        "config_hash": config.config_hash, "config_env": config.env,
        "package_version": __version__, "spark_version": pyspark.__version__,
        "spark_master": master, "delta_engine": engine,
        "error": result.error,
    }


def _record(
    spark: SparkSession, config: Config, store: TableStore, catalog: Catalog,
    result: JobResult, parent_run_id: str | None,
) -> None:
    row = _run_row(config, result, parent_run_id, str(spark.sparkContext.master), store.engine)
    info_ctx = JobContext(spark, config, store, catalog, result.job, result.run_id)
    info_ctx.write_rows(JOB_RUNS.name, [row], mode="append")
    info_ctx.commit()


def record_without_jvm(
    config: Config, catalog: Catalog, result: JobResult, parent_run_id: str | None, schema_json: str
) -> None:
    """Append the run to ``job_runs`` with delta-rs alone, for a run whose JVM died.

    Only a local table can be written this way; the commit carries the job and run id as a
    Spark-written one does.
    """
    from deltalake import CommitProperties, write_deltalake

    path = catalog.path(JOB_RUNS.name)
    path = path[len("file://"):] if path.startswith("file://") else path
    if "://" in path:
        raise CustsegError(f"job_runs at {path} is not local: a run whose JVM died cannot be recorded there")
    row = _run_row(config, result, parent_run_id, config.spark.master, "deltars")
    table = arrow_rows([row], T.StructType.fromJson(json.loads(schema_json)), path)
    if table is None:
        raise CustsegError(f"job_runs at {path} has columns only Spark writes: a run whose JVM died cannot be recorded")
    metadata = {"job": result.job, "runId": result.run_id, "engine": "deltars", "rowsWritten": "1"}
    write_deltalake(path, table, mode="append", commit_properties=CommitProperties(custom_metadata=metadata))
    log.info("%s: recorded the failed run in job_runs without Spark", result.job)
