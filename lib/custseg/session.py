"""The one place that builds SparkSessions, for jobs, tests and notebooks alike.

Settings every run needs regardless of environment: UTC session time, Parquet timestamps as
TIMESTAMP_MICROS (INT96 would become nanosecond columns that delta-rs and Spark disagree on),
adaptive execution, no _SUCCESS marker files inside Delta tables, and quiet logging through a
packaged log4j2 configuration. A local driver maps the class-data archive of
``custseg.jvm_archive`` when one was written for its Java and Spark.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from custseg import jvm_archive
from custseg.config import Config
from custseg.errors import EnvironmentProblem
from custseg.memory.sizing import driver_memory

log = logging.getLogger(__name__)

SPARK_CONF_DIR = str(Path(__file__).parent / "resources" / "spark")
LOG4J_CONFIG = str(Path(SPARK_CONF_DIR) / "log4j2.properties")
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
MIN_JAVA = 17
# A local driver runs every task: after an OutOfMemoryError its heap is in no state to go on,
# and Spark would stop it anyway after a long garbage-collection struggle. Exiting at once
# fails the job fast, and the exit code tells custseg why.
LOCAL_DRIVER_JAVA_OPTIONS = "-XX:+ExitOnOutOfMemoryError"


def spark_properties(config: Config, app_name: str | None = None, master: str | None = None) -> dict[str, str]:
    """Spark properties derived from config; also printed for spark-submit by `custseg spark-args`.

    ``spark.driver_memory: auto`` is sized here for ``master`` (default: ``spark.master``).
    """
    spark = config.spark
    memory, _ = driver_memory(spark.driver_memory, master or spark.master)
    properties = {
        "spark.app.name": app_name or spark.app_name,
        "spark.driver.memory": memory,
        "spark.executor.memory": spark.executor_memory,
        "spark.executor.cores": str(spark.executor_cores),
        "spark.sql.shuffle.partitions": str(spark.shuffle_partitions),
        "spark.sql.files.maxPartitionBytes": spark.max_partition_bytes,
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.warehouse.dir": config.root_dir + "/spark-warehouse",
        "spark.ui.enabled": str(spark.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        "spark.hadoop.parquet.enable.summary-metadata": "false",
        "spark.sql.debug.maxToStringFields": "200",
        "spark.cleaner.referenceTracking.cleanCheckpoints": "true",
        # The driver keeps every finished query's plan text and metrics for the UI; a resolve
        # run issues hundreds of queries with large plans, so the default of 1000 held over a
        # gigabyte of driver heap in one session running job after job.
        "spark.sql.ui.retainedExecutions": "100",
        # Python workers (the stream's state runner among them) must connect back within this;
        # the default 15 s is too short for a worker importing pandas on a busy machine.
        "spark.python.authenticate.socketTimeout": "120s",
        # With this on, every pyspark.sql function call records its Python call site in the JVM:
        # about six py4j round trips and a stack walk per call, half the py4j traffic of a
        # resolve run. custseg's own errors name the table, column or row at fault instead.
        "spark.python.sql.dataFrameDebugging.enabled": "false",
    }
    properties.update(spark.conf)
    if (master or spark.master).startswith("local"):
        add_driver_java_options(properties, LOCAL_DRIVER_JAVA_OPTIONS)
    return properties


def add_driver_java_options(properties: dict[str, str], options: str) -> None:
    """Append ``options`` to ``spark.driver.extraJavaOptions``, keeping any the user set."""
    current = properties.get("spark.driver.extraJavaOptions", "").strip()
    if options not in current:
        properties["spark.driver.extraJavaOptions"] = f"{current} {options}".strip()


def build_spark_session(
    config: Config, app_name: str | None = None, extra_conf: Mapping[str, str] | None = None
) -> SparkSession:
    """Return the SparkSession for this process, creating it from config if needed.

    Under spark-submit the master, deploy mode and driver memory come from spark-submit;
    in-process (console script, tests, notebooks) they come from ``config.spark``.
    """
    java_version = check_java()
    os.environ.setdefault("SPARK_CONF_DIR", SPARK_CONF_DIR)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_AUTH_SOCKET_TIMEOUT", "120")  # workers' side of the socketTimeout below
    properties = spark_properties(config, app_name)
    for key, value in (extra_conf or {}).items():
        if key == "spark.driver.extraJavaOptions":
            add_driver_java_options(properties, value)
        else:
            properties[key] = value
    under_spark_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if not under_spark_submit and SparkSession.getActiveSession() is None:
        log.info("driver memory %s", driver_memory(config.spark.driver_memory, config.spark.master)[1])
    if config.storage.delta_engine != "deltars" and _delta_jars_requested(properties, under_spark_submit):
        properties.setdefault("spark.sql.extensions", DELTA_EXTENSION)
        properties.setdefault("spark.sql.catalog.spark_catalog", DELTA_CATALOG)
    launch = None
    master = config.spark.master
    # Only a JVM about to start can map an archive: none runs yet in this process (a stopped
    # session leaves its JVM running), and the driver runs every task (not local-cluster).
    if not under_spark_submit and SparkContext._gateway is None and (master == "local" or master.startswith("local[")):
        launch = _archive_launch(java_version)
    if launch is not None:
        add_driver_java_options(properties, f"{launch[0]} -Dlog4j2.configurationFile={shlex.quote(LOG4J_CONFIG)}")
    builder = SparkSession.builder
    if not under_spark_submit:
        builder = builder.master(config.spark.master)
    for key, value in properties.items():
        builder = builder.config(key, value)
    with _spark_conf_dir(launch[1] if launch else None):
        session = builder.getOrCreate()
    # PySpark logs every query error again as a long JSON record; the raised exception already
    # carries the message, and jobs report it in one sentence.
    logging.getLogger("DataFrameQueryContextLogger").setLevel(logging.CRITICAL)
    session.sparkContext.setLogLevel("WARN")
    session.sparkContext.setCheckpointDir(config.checkpoint_dir)
    _no_local_checksum_files(session)
    return session


def users_spark_conf_dir() -> str | None:
    """A Spark conf folder the user set, other than custseg's own; sessions then start without a
    class-data archive, which the JVM would refuse on that class path."""
    chosen = os.environ.get("SPARK_CONF_DIR", SPARK_CONF_DIR)
    return None if chosen == SPARK_CONF_DIR else chosen


def _archive_launch(java_version: str) -> tuple[str, Path] | None:
    """Java options and conf folder to start the driver with a class-data archive, or None.
    A Spark conf folder of the user's own is kept, and with it the start without an archive."""
    if users_spark_conf_dir() is not None or not java_version:
        return None
    from pyspark.find_spark_home import _find_spark_home

    return jvm_archive.launch_settings(java_version, _find_spark_home())


@contextmanager
def _spark_conf_dir(conf_dir: Path | None) -> Iterator[None]:
    """SPARK_CONF_DIR for the JVM launched inside; processes started later see the usual one."""
    if conf_dir is None:
        yield
        return
    before = os.environ.get("SPARK_CONF_DIR")
    os.environ["SPARK_CONF_DIR"] = str(conf_dir)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SPARK_CONF_DIR", None)
        else:
            os.environ["SPARK_CONF_DIR"] = before


def _no_local_checksum_files(spark: SparkSession) -> None:
    """Stop the driver's local filesystem from writing .crc side files next to raw exports.

    Replacing the local filesystem class would break FileSystem.getLocal (used to load ML
    models), so the cached instance is told not to write checksums instead. Executors in other
    JVMs may still write them; raw-file publishing removes any that remain.
    """
    jvm, jsc = spark.sparkContext._jvm, spark.sparkContext._jsc
    if jvm is not None and jsc is not None:
        jvm.org.apache.hadoop.fs.FileSystem.getLocal(jsc.hadoopConfiguration()).setWriteChecksum(False)


def delta_spark_available(spark: SparkSession) -> bool:
    """True when delta-spark's JVM classes are loadable and its SQL extension is active."""
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    if DELTA_EXTENSION not in extensions:
        return False
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName("io.delta.tables.DeltaTable", False, loader)
        return True
    except Exception:  # py4j raises its own error type for ClassNotFoundException
        return False


def check_java() -> str:
    """Fail with one sentence when no suitable Java runtime is available; else its
    ``java -version`` text (empty when it could not be read)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise EnvironmentProblem(
            f"Java was not found: install a Java {MIN_JAVA} runtime "
            "(for example: apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
        )
    text = java_version_text(java)
    version = java_major_version(text)
    if version is not None and version < MIN_JAVA:
        raise EnvironmentProblem(
            f"Java {version} found at {java}, but Spark 4 needs Java {MIN_JAVA} or newer: "
            "install openjdk-17 and point JAVA_HOME at it."
        )
    return text


def java_version_text(java: str) -> str:
    """What ``java -version`` prints, with the runtime's path (empty when it cannot be run)."""
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return f"{Path(java).resolve()}\n{result.stderr}{result.stdout}"


def java_major_version(version_text: str) -> int | None:
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_text)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" means Java 8


def _delta_jars_requested(properties: Mapping[str, str], under_spark_submit: bool) -> bool:
    """Whether delta-spark jars will be on the classpath, judged before the JVM starts."""
    wanted = " ".join(properties.get(key, "") for key in ("spark.jars.packages", "spark.jars"))
    if under_spark_submit:
        submitted = SparkConf()  # loads what spark-submit passed as system properties
        wanted += " " + " ".join(submitted.get(k, "") or "" for k in ("spark.jars.packages", "spark.jars"))
    if "delta-spark" in wanted:
        return True
    from pyspark.find_spark_home import _find_spark_home

    return any((Path(_find_spark_home()) / "jars").glob("delta-spark_*.jar"))
