"""Memory: the driver heap sized to the machine, persisted data released per job, and failures
(a full heap, a dead JVM, a killed Python worker) explained in one sentence."""

from __future__ import annotations

import pytest
from py4j.protocol import Py4JNetworkError
from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg import jobs
from custseg.config import Config, load_config
from custseg.errors import ConfigError
from custseg.memory import FailurePlace, PersistedDuringJob, classify, explain, mark, persisted_rdd_ids, stored
from custseg.memory.runlog import ConsoleFormatter
from custseg.memory.sizing import auto_heap_bytes, driver_memory, local_cores, size_bytes
from custseg.runtime import JobContext, run_job

GIB = 2**30


@pytest.mark.parametrize(("physical", "master", "expected"), [
    (24 * GIB, "local[2]", "12g"),        # 14.4 GiB share less two workers, rounded down to whole GiB
    (16 * GIB, "local[4]", "5g"),         # 9.6 - 4 = 5.6 GiB -> 5 GiB
    (6 * GIB, "local[1]", "2560m"),       # 3.6 - 1 = 2.6 GiB -> 2.5 GiB (256 MiB steps below 4 GiB)
    (4 * GIB, "local[2]", "1g"),          # 2.4 - 2 = 0.4 GiB: never below 1 GiB
    (256 * GIB, "local[2]", "31g"),       # never above 31 GiB (compressed object pointers)
])
def test_auto_driver_memory_is_a_share_of_physical_memory(physical: int, master: str, expected: str) -> None:
    chosen, reason = driver_memory("auto", master, physical)
    assert chosen == expected
    assert reason.startswith(f"auto: {expected} of {physical / GIB:.1f} GiB")


def test_driver_memory_set_by_the_user_or_a_cluster_master_is_not_sized() -> None:
    assert driver_memory("3g", "local[2]", 24 * GIB)[0] == "3g"
    assert driver_memory("AUTO", "spark://h:7077", 24 * GIB)[0] == "4g"
    assert auto_heap_bytes(24 * GIB, 2) == 12 * GIB
    assert [local_cores(m) for m in ("local", "local[3]", "local[2, 4]")] == [1, 3, 2]


def test_memory_sizes_parse_and_reject_nonsense() -> None:
    assert size_bytes("512m") == 512 * 2**20 and size_bytes("4G") == 4 * GIB and size_bytes("2048") == 2048
    with pytest.raises(ValueError, match="not a memory size"):
        size_bytes("lots")


def test_a_bad_driver_memory_stops_the_config_load(project_dir) -> None:  # type: ignore[no-untyped-def]
    assert load_config(project_dir / "conf", "local", []).spark.driver_memory == "auto"
    with pytest.raises(ConfigError, match="driver_memory must be auto or a JVM size"):
        load_config(project_dir / "conf", "local", ["spark.driver_memory=plenty"])


class _FakeJavaError(Exception):
    """Stands in for Py4JJavaError, whose text carries the Java stack trace."""


PLACE = FailurePlace("ingest", "ingest-1", "staging table events", "1g", GIB)


@pytest.mark.parametrize(("error", "exit_code", "kind"), [
    (_FakeJavaError("An error occurred\n: java.lang.OutOfMemoryError: Java heap space\n\tat x.y"), None, "heap"),
    (Py4JNetworkError("Answer from Java side is empty"), 3, "heap"),      # -XX:+ExitOnOutOfMemoryError
    (ConnectionRefusedError(111, "Connection refused"), 52, "heap"),        # Spark's own OOM exit
    (Py4JNetworkError("Answer from Java side is empty"), None, "jvm"),
    (ConnectionRefusedError(111, "Connection refused"), -9, "jvm"),
    (TimeoutError("timed out"), None, "jvm"),
    (_FakeJavaError("org.apache.spark.SparkException: Python worker exited unexpectedly (crashed)"), None,
     "python_worker"),
    (ValueError("a bug"), None, "other"),
])
def test_failures_are_classified(error: Exception, exit_code: int | None, kind: str) -> None:
    assert classify(error, exit_code) == kind


def test_out_of_heap_is_one_sentence_naming_job_step_memory_and_setting() -> None:
    error = Py4JNetworkError("Answer from Java side is empty")
    mark(error, PLACE)
    mark(error, FailurePlace("run_all", "r", "other"))  # an outer job does not overwrite the inner place
    text = explain(error, "run_all", exit_code=3, physical_bytes=24 * GIB)
    assert text == (
        "job ingest (staging table events) ran out of Java heap (the driver JVM had a heap of 1.00 GiB, "
        "spark.driver_memory=1g): raise spark.driver_memory, e.g. --set spark.driver_memory=2g, "
        "or lower spark.max_partition_bytes; no output table changed"
    )
    assert "\n" not in text


def test_other_failures_name_the_error_in_one_line() -> None:
    killed = ConnectionRefusedError(111, "Connection refused")
    assert "stopped during custseg ingest (killed by signal 9, often the out-of-memory killer)" in explain(
        killed, "ingest", exit_code=-9)
    bug = ValueError("no column segment_id\n  at line 2 of the plan")
    mark(bug, PLACE)
    assert explain(bug, "ingest") == (
        "job ingest (staging table events) failed unexpectedly: ValueError: no column segment_id; "
        "no output table changed"
    )


def test_a_java_error_is_named_by_its_java_line() -> None:
    error = _FakeJavaError("An error occurred while calling None.JavaSparkContext.\n: org.apache.spark."
                           "SparkIllegalArgumentException: System memory 268435456 must be at least 471859200.\n\tat x")
    assert explain(error, "ingest") == (
        "custseg ingest failed unexpectedly: _FakeJavaError: org.apache.spark.SparkIllegalArgumentException: "
        "System memory 268435456 must be at least 471859200."
    )


def test_console_formatter_leaves_tracebacks_to_the_log_file() -> None:
    import logging
    import sys

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("custseg", logging.WARNING, __file__, 1, "it failed", None, sys.exc_info())
    assert ConsoleFormatter("%(message)s", verbose=False).format(record) == "it failed"
    assert "Traceback" in ConsoleFormatter("%(message)s", verbose=True).format(record)
    assert record.exc_info is not None  # the file handler still gets it


def test_a_job_releases_everything_it_persisted_and_nothing_older(spark: SparkSession, config: Config) -> None:
    before_df = spark.range(5).persist(StorageLevel.MEMORY_AND_DISK)
    before_df.count()
    older = persisted_rdd_ids(spark)
    held: dict[str, set[int]] = {}

    def body(ctx: JobContext) -> None:
        rdd = spark.sparkContext.parallelize(range(10), 2).persist(StorageLevel.DISK_ONLY)
        rdd.count()
        spark.range(7).persist().count()
        spark.range(9).localCheckpoint(eager=True)  # a block-manager RDD the cache manager never sees
        held["inside"] = persisted_rdd_ids(spark) - older

    result = run_job(spark, config, "persisting", body)
    assert len(held["inside"]) >= 3
    assert result.persisted_released == len(held["inside"]) and result.persisted_left == 0
    assert persisted_rdd_ids(spark) == older  # the job's RDDs are gone; the caller's frame is not
    assert before_df.is_cached
    before_df.unpersist()


def test_release_without_tracking_the_start_releases_nothing(spark: SparkSession) -> None:
    tracker = PersistedDuringJob(spark)
    frame = spark.range(3).persist()
    frame.count()
    assert tracker.left() == 1
    assert tracker.release() == 1 and tracker.left() == 0
    assert PersistedDuringJob(spark).release() == 0


def test_a_stored_frame_holds_the_same_rows_under_a_plan_cut_from_its_lineage(spark: SparkSession) -> None:
    left = spark.range(40).withColumn("k", F.col("id") % 7)
    right = spark.range(7).withColumnRenamed("id", "k").withColumn("name", F.concat(F.lit("k"), F.col("k")))
    joined = left.join(right, "k").groupBy("name").agg(F.count(F.lit(1)).alias("n"))
    tracker = PersistedDuringJob(spark)
    kept = stored(joined)
    assert tracker.left() == 1  # computed at once and held
    (rdd_id,) = persisted_rdd_ids(spark) - tracker.before
    level = spark.sparkContext._jsc.getPersistentRDDs().get(rdd_id).getStorageLevel()  # type: ignore[union-attr]
    assert level.useDisk() and not level.deserialized()  # bytes that can spill, not an object per row
    assert sorted(kept.collect()) == sorted(joined.collect())
    plan = kept._jdf.queryExecution().analyzed().toString()
    assert "Join" not in plan and "Aggregate" not in plan  # later queries plan from the kept rows
    assert "Join" in joined._jdf.queryExecution().analyzed().toString()
    assert tracker.release() == 1 and tracker.left() == 0
    # Spark warns at each released local checkpoint that its lineage is gone; a job's end
    # releases every frame it stored, so the shipped logging keeps that off the console.
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    logger = jvm.org.apache.logging.log4j.LogManager.getLogger("org.apache.spark.rdd.MapPartitionsRDD")
    assert not logger.isWarnEnabled() and logger.isErrorEnabled()


def test_every_pipeline_job_leaves_nothing_persisted(pipeline) -> None:  # type: ignore[no-untyped-def]
    _, results = pipeline
    assert [r.job for r in results] == list(jobs.PIPELINE)
    assert {r.job: r.persisted_left for r in results} == {r.job: 0 for r in results}
    assert sum(r.persisted_released for r in results) > 0  # the check sees what jobs leave behind


def test_stage_memory_probe_sees_the_jvm_and_its_heap(spark: SparkSession) -> None:
    from custseg.memory.probe import ProcessPeaks, heap_peaks, reset_heap_peaks

    reset_heap_peaks(spark)
    with ProcessPeaks(interval=0.05) as processes:
        spark.range(50_000).selectExpr("id % 7 AS k").groupBy("k").count().collect()
    heap = heap_peaks(spark)
    assert processes.peaks.driver > 0 and processes.peaks.jvm > 50 * 2**20  # the driver JVM is our child
    assert heap["heap_max_mb"] > 0 and 0 < heap["heap_peak_used_mb"] <= heap["heap_max_mb"]
    assert abs(heap["heap_peak_share"] - heap["heap_peak_used_mb"] / heap["heap_max_mb"]) < 0.01


def test_stage_memory_counts_a_jvm_child_before_its_exec_as_neither_jvm_nor_worker() -> None:
    import psutil

    from custseg.memory.probe import resident_by_kind

    class Child:
        def __init__(self, name: str, rss: int, gone: bool = False):
            self._name, self._rss, self._gone = name, rss, gone

        def name(self) -> str:
            if self._gone:
                raise psutil.NoSuchProcess(1)
            return self._name

        def memory_info(self):  # type: ignore[no-untyped-def]
            return type("Memory", (), {"rss": self._rss})()

    tree = [Child("java", 11 * GIB), Child("python3.11", GIB // 10), Child("python3.11", GIB // 5),
            Child("Executor task l", 11 * GIB),  # cloned by a JVM thread, sharing the JVM's pages until its exec
            Child("jspawnhelper", 2**20), Child("python3.11", GIB, gone=True)]
    assert resident_by_kind(tree) == (11 * GIB, GIB // 10 + GIB // 5)  # type: ignore[arg-type]


def test_bench_table_shows_stage_memory_and_tolerates_older_reports() -> None:
    from custseg.bench import markdown_table

    stage = {"stage": "ingest", "seconds": 10.0, "ratio": 2.0, "rows_in": 10, "rows_out": 10, "rows_per_second": 1,
             "peak_rss_mb": 900}
    new = {**stage, "peak_jvm_rss_mb": 700, "peak_python_workers_rss_mb": 120, "heap_max_mb": 1024,
           "heap_peak_used_mb": 512, "heap_peak_share": 0.5}
    table = markdown_table([{"started": "t1", "scale": 100, "stages": [stage, new]}])
    old_row, new_row = table.splitlines()[2:]
    assert "| 900 | - | - | - | - |" in old_row
    assert "| 900 | 700 / 120 | 512 / 1,024 MB (50%) | - | - |" in new_row
    counted = {**new, "spark_jobs": 4200, "shuffle_write_mb": 3.5}
    assert "| 512 / 1,024 MB (50%) | 4,200 | 3.5 |" in markdown_table([{"started": "t", "scale": 1,
                                                                          "stages": [counted]}])
    unknown = {**counted, "shuffle_write_mb": None}
    assert "| 4,200 | - |" in markdown_table([{"started": "t", "scale": 1, "stages": [unknown]}])


def test_shuffle_bytes_count_what_a_shuffle_wrote_and_read(spark: SparkSession) -> None:
    from custseg.bench.spark_activity import activity_since, spark_activity

    spark.sparkContext.setJobGroup("shuffling", "a shuffle")
    before = spark_activity(spark)
    spark.range(20_000).selectExpr("id % 13 AS k", "id AS v").repartition(3, "k").groupBy("k").count().collect()
    shuffled = activity_since(spark, before, "shuffling")
    read_after, written_after = spark_activity(spark)  # type: ignore[misc]
    assert before is not None and written_after > before[1] and read_after > before[0]
    assert shuffled == {"spark_jobs": len(spark.sparkContext.statusTracker().getJobIdsForGroup("shuffling")),
                        "shuffle_read_mb": round((read_after - before[0]) / 2**20, 1),
                        "shuffle_write_mb": round((written_after - before[1]) / 2**20, 1)}
    assert shuffled["spark_jobs"] >= 1
    spark.sparkContext.setJobGroup("collecting", "no shuffle")
    spark.range(10).collect()  # no shuffle (a count would: partial counts meet in one partition)
    assert spark_activity(spark) == (read_after, written_after)
    assert activity_since(spark, None, "collecting") == {"spark_jobs": 1, "shuffle_read_mb": None,
                                                         "shuffle_write_mb": None}


def test_growth_table_compares_each_stages_latest_runs_by_their_ratios() -> None:
    from custseg.bench.pipeline_report import growth_table

    def report(started: str, scale: int, seconds: float, reference: float) -> dict:  # type: ignore[type-arg]
        return {"started": started, "scale": scale, "reference_seconds": reference,
                "stages": [{"stage": "features", "seconds": seconds, "ratio": round(seconds / reference, 2)},
                           {"stage": "segment", "seconds": 1.0, "ratio": 0.0}]}

    reports = [report("2026-01-02", 1_000_000, 300.0, 2.0), report("2026-01-01", 100_000, 40.0, 1.0),
               report("2026-01-03", 100_000, 20.0, 1.0), report("2026-01-01", 5_000, 9.0, 1.0)]
    rows = growth_table(reports, ["features", "segment", "resolve"]).splitlines()[2:]
    assert rows == ["| features | 20.0 | 300.0 | 7.5 | 2026-01-03, 2026-01-02 |",
                    "| segment | 1.0 | 1.0 | 0.5 | 2026-01-03, 2026-01-02 |"]
    older = {"started": "2025-12-01", "scale": 1_000_000, "stages": [{"stage": "resolve", "seconds": 9, "ratio": 3.0}]}
    assert "| resolve | " not in growth_table([*reports, older], ["resolve"])  # no 100k run of it
