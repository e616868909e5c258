"""A class-data archive of the driver JVM, so a local run starts with Spark's classes already parsed.

A cold custseg process spends seconds loading and verifying the classes of Spark, Catalyst,
Hadoop and Delta from some 250 jars before its first query. The JVM can map those classes from
an archive written by an earlier run (Application Class-Data Sharing, JDK 13+:
``-XX:ArchiveClassesAtExit`` writes it, ``-XX:SharedArchiveFile`` maps it). ``custseg
jvm-archive`` (run by ``make venv``) writes one by running a small pipeline; every later local
session maps it.

An archive serves only the JVM build and class path that wrote it. Its name carries a digest of
the Java runtime's version text and the Spark jars, so another Java or pyspark finds none and
starts as before. The JVM refuses, silently, an archive whose class path differs, and its class
path may hold no non-empty folder: the session's Spark conf folder while an archive is in use
is an empty one, and log4j is pointed at custseg's configuration by a system property instead.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# Dumping mode for the session builder: the archive file a run writes when its JVM exits.
DUMP_ENV = "CUSTSEG_JVM_ARCHIVE_OUT"
# Where archives live; default: <prefix>/share/custseg/jvm of the interpreter running custseg.
DIR_ENV = "CUSTSEG_JVM_ARCHIVE_DIR"
# No JVM message about the archive: a missing or refused one only means a slower start.
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
# The pipeline whose classes are archived: every batch stage on a few hundred customers.
WORKLOAD_CUSTOMERS = 300


def archive_dir() -> Path:
    return Path(os.environ.get(DIR_ENV) or Path(sys.prefix) / "share" / "custseg" / "jvm")


def empty_conf_dir() -> Path:
    """The Spark conf folder while an archive is in use: it is on the class path, so it must be
    the same, and empty, when the archive is written and when it is mapped."""
    return archive_dir() / "empty-conf"


def archive_path(java_version_text: str, spark_home: str) -> Path:
    """The archive for this Java runtime (its ``java -version`` text) and these Spark jars."""
    digest = hashlib.sha256(java_version_text.encode("utf-8"))
    jars = sorted(Path(spark_home, "jars").glob("*.jar"))
    for jar in jars:
        digest.update(f"\n{jar}:{jar.stat().st_size}".encode())
    return archive_dir() / f"spark-{digest.hexdigest()[:16]}.jsa"


def launch_settings(java_version_text: str, spark_home: str) -> tuple[str, Path] | None:
    """Java options and Spark conf folder for a local driver, or None to start without an archive.

    With ``CUSTSEG_JVM_ARCHIVE_OUT`` set, the options write an archive there at exit; otherwise
    they map the archive for this runtime, when one exists.
    """
    dump_to = os.environ.get(DUMP_ENV)
    if dump_to:
        option = f"-XX:ArchiveClassesAtExit={dump_to}"
    else:
        archive = archive_path(java_version_text, spark_home)
        if not archive.is_file():
            return None
        option = f"-XX:SharedArchiveFile={archive}"
    conf_dir = empty_conf_dir()
    conf_dir.mkdir(parents=True, exist_ok=True)
    return f"{option} {QUIET}", conf_dir


def build(java_version_text: str, spark_home: str, workload: Sequence[str] | None = None,
          timeout_seconds: float = 1800) -> tuple[Path, float]:
    """Write the archive for this runtime by running ``workload`` (default: ``custseg run_all`` on
    a few hundred generated customers in a temporary root) with archiving on. Returns the archive
    and the seconds it took.

    Raises:
        RuntimeError: the workload failed or its JVM wrote no archive, with the reason.
    """
    target = archive_path(java_version_text, spark_home)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="custseg-jvm-archive-") as root:
        command = list(workload or [sys.executable, "-m", "custseg", "run_all",
                                    "--set", f"storage.root={root}",
                                    "--set", f"generate.customers={WORKLOAD_CUSTOMERS}"])
        # The JVM writes the archive after the Python process has exited: reading the shared
        # output pipe to its end waits for the JVM too.
        try:
            done = subprocess.run(command, env={**os.environ, DUMP_ENV: str(partial)}, capture_output=True, text=True,
                                  timeout=timeout_seconds, check=False)
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"the archiving run took longer than {timeout_seconds:.0f} s") from None
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the archiving run `{' '.join(command[:4])} ...` failed (exit {done.returncode}): {last}")
    if not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError("the archiving run finished, but its JVM wrote no class-data archive")
    os.replace(partial, target)
    for stale in target.parent.glob("spark-*.jsa"):  # written for a Java or pyspark no longer installed
        if stale != target:
            stale.unlink(missing_ok=True)
    return target, time.monotonic() - started
