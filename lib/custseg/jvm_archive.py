"""A class-data archive of the driver JVM, so a local run starts with Spark's classes already parsed.

A cold custseg process spends seconds loading and verifying the classes of Spark, Catalyst,
Hadoop and Delta from nearly 300 jars before its first query. The JVM can map those classes from
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
import shlex
import signal
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
    chosen = os.environ.get(DIR_ENV)
    return Path(chosen).expanduser().resolve() if chosen else Path(sys.prefix) / "share" / "custseg" / "jvm"


def empty_conf_dir() -> Path:
    """The Spark conf folder while an archive is in use: it is on the class path, so it must be
    the same, and empty, when the archive is written and when it is mapped."""
    return archive_dir() / "empty-conf"


def archive_path(java_version_text: str, spark_home: str) -> Path:
    """The archive for this Java runtime (its ``java -version`` text) and these Spark jars."""
    digest = hashlib.sha256(java_version_text.encode("utf-8"))
    for jar in sorted(Path(spark_home, "jars").glob("*.jar")):
        stat = jar.stat()  # the JVM refuses an archive whose jars changed size or time
        digest.update(f"\n{jar}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return archive_dir() / f"spark-{digest.hexdigest()[:16]}.jsa"


def launch_settings(java_version_text: str, spark_home: str) -> tuple[str, Path] | None:
    """Java options and Spark conf folder for a local driver, or None to start without an archive.

    With ``CUSTSEG_JVM_ARCHIVE_OUT`` set, the options write an archive there at exit; otherwise
    they map the archive for this runtime, when one exists.
    """
    dump_to = os.environ.get(DUMP_ENV)
    if dump_to:
        # Errors only, beside the archive: why none was written, for `build` to report.
        options = (f"{shlex.quote('-XX:ArchiveClassesAtExit=' + dump_to)} "
                   f"{shlex.quote('-Xlog:cds=error,cds+dynamic=error:file=' + dump_to + '.log')}")
    else:
        archive = archive_path(java_version_text, spark_home)
        if not archive.is_file():
            return None
        options = f"{shlex.quote('-XX:SharedArchiveFile=' + str(archive))} {QUIET}"
    conf_dir = empty_conf_dir()
    try:
        conf_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a folder no one may write to: start as without an archive
    if any(conf_dir.iterdir()):
        return None  # on the class path, a non-empty folder would make the JVM refuse the archive
    return options, conf_dir


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
    jvm_log = Path(f"{partial}.log")
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="custseg-jvm-archive-") as root:
            command = list(workload or [sys.executable, "-m", "custseg", "run_all",
                                        "--set", f"storage.root={root}",
                                        "--set", f"generate.customers={WORKLOAD_CUSTOMERS}"])
            done = _run_to_jvm_exit(command, {**os.environ, DUMP_ENV: str(partial)}, timeout_seconds)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the archiving run `{' '.join(command[:4])} ...` failed (exit {done.returncode}): "
                               f"{last}")
        if not partial.is_file() or partial.stat().st_size == 0:
            said = jvm_log.read_text(errors="replace").strip().splitlines() if jvm_log.is_file() else []
            raise RuntimeError("the archiving run finished, but its JVM wrote no class-data archive"
                               + (f": {said[-1]}" if said else ""))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        jvm_log.unlink(missing_ok=True)
    if DIR_ENV not in os.environ:  # the installation's own folder: archives of a Java or pyspark it no longer has
        for stale in target.parent.glob("spark-*.jsa"):
            if stale != target:
                stale.unlink(missing_ok=True)
    return target, time.monotonic() - started


def _run_to_jvm_exit(command: Sequence[str], env: dict[str, str], timeout_seconds: float
                     ) -> subprocess.CompletedProcess[str]:
    """Run ``command`` and wait for its JVM as well: the JVM writes the archive after the Python
    process has exited, and reading their shared output pipe to its end waits for both. On a
    timeout the whole process group is stopped, the JVM with it."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise RuntimeError(f"the archiving run took longer than {timeout_seconds:.0f} s") from None
    except BaseException:  # interrupted: its own session would keep it running
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
