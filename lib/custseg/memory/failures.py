"""One sentence for a failure custseg did not raise itself: a dead JVM, a full heap, a killed worker.

A job that runs out of memory in local mode takes the driver JVM down with it (the JVM exits
on its first ``OutOfMemoryError``), and Python then sees only a broken Py4J connection. So the
runner notes where each job failed (``mark``) and the CLI turns the error into a sentence
(``explain``) from what is still known: the job and its step, the heap the JVM had, and the
JVM's exit code. The full traceback goes to the run's log file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
from collections.abc import Iterator

from py4j.protocol import Py4JError, Py4JNetworkError
from pyspark import SparkContext
from pyspark.sql import SparkSession

from custseg.memory.sizing import format_size, size_bytes

_PLACE = "_custseg_failure_place"
# Exit codes of a JVM that ran out of heap: -XX:+ExitOnOutOfMemoryError exits with 3, Spark's
# own uncaught-exception handler with 52 (SparkExitCode.OOM).
HEAP_EXIT_CODES = (3, 52)
_JVM_GONE = ("Answer from Java side is empty", "Error while sending or receiving", "Error while receiving",
             "Java gateway process exited", "SparkContext was shut down", "Cannot call methods on a stopped")
_WORKER_DIED = ("Python worker exited unexpectedly", "Python worker crashed", "worker exited unexpectedly")


@dataclasses.dataclass(frozen=True)
class FailurePlace:
    """Where a job failed, noted while the JVM could still answer."""

    job: str
    run_id: str
    step: str
    driver_memory: str | None = None
    heap_max_bytes: int | None = None


def mark(error: BaseException, place: FailurePlace) -> None:
    """Attach ``place`` to ``error``, unless an inner job already did."""
    if getattr(error, _PLACE, None) is None:
        with contextlib.suppress(AttributeError):  # an exception type with __slots__
            setattr(error, _PLACE, place)


def place_of(error: BaseException) -> FailurePlace | None:
    return getattr(error, _PLACE, None)


def jvm_exit_code(wait_seconds: float = 0.0) -> int | None:
    """Exit code of the driver JVM this Python process started, or None while it runs (or was not ours).

    A JVM that broke its connection may still be exiting: ``wait_seconds`` gives it that long, so
    the exit code (which tells a full heap from other deaths) is known before a failure is explained."""
    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None) if gateway is not None else None
    if proc is None:
        return None
    if wait_seconds > 0:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=wait_seconds)
    return proc.poll()


def dying_jvm_exit_code(error: BaseException) -> int | None:
    """The driver JVM's exit code, waiting a few seconds for it when ``error`` says the JVM is gone."""
    if classify(error) in ("jvm", "heap"):
        return jvm_exit_code(wait_seconds=5.0)
    return jvm_exit_code()


def jvm_alive(spark: SparkSession) -> bool:
    """Whether the driver JVM still answers."""
    if jvm_exit_code() is not None:
        return False
    try:
        jvm = spark.sparkContext._jvm
        return jvm is not None and int(jvm.java.lang.System.nanoTime()) != 0
    except (Py4JError, OSError, AttributeError):
        return False


def heap_max_bytes(spark: SparkSession) -> int | None:
    """The driver JVM's maximum heap (``Runtime.maxMemory``), or None if it cannot be asked."""
    try:
        jvm = spark.sparkContext._jvm
        return int(jvm.java.lang.Runtime.getRuntime().maxMemory()) if jvm is not None else None
    except (Py4JError, OSError):
        return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(error: BaseException, exit_code: int | None = None) -> str:
    """``heap``, ``jvm`` (the JVM stopped for another reason), ``python_worker`` or ``other``."""
    errors = list(_chain(error))
    text = "\n".join(str(e) for e in errors)
    if "OutOfMemoryError" in text or exit_code in HEAP_EXIT_CODES:
        return "heap"
    if any(marker in text for marker in _WORKER_DIED):
        return "python_worker"
    broken = (Py4JNetworkError, ConnectionError, socket.timeout)
    if exit_code is not None or any(isinstance(e, broken) for e in errors) or any(m in text for m in _JVM_GONE):
        return "jvm"
    return "other"


def explain(error: BaseException, command: str, exit_code: int | None = None,
            physical_bytes: int | None = None) -> str:
    """One sentence: what failed, where, with how much memory, and what to change."""
    place = place_of(error)
    kind = classify(error, exit_code)
    where = f"job {place.job} ({place.step})" if place else f"custseg {command}"
    had = _memory_had(place)
    if kind == "heap":
        return (f"{where} ran out of Java heap{had}: raise spark.driver_memory, e.g. "
                f"--set spark.driver_memory={_suggested(place, physical_bytes)}, or lower spark.max_partition_bytes"
                f"{_unchanged(place)}")
    if kind == "python_worker":
        return (f"a Python worker of {where} was killed, most likely for lack of memory outside the JVM{had}: "
                f"lower spark.driver_memory to leave the workers room, or lower spark.max_partition_bytes"
                f"{_unchanged(place)}")
    if kind == "jvm":
        return (f"the Spark driver JVM stopped during {where}{_exit_reason(exit_code)}{had}: if it ran out of "
                f"memory, raise spark.driver_memory, e.g. --set spark.driver_memory={_suggested(place, physical_bytes)}"
                f"{_unchanged(place)}")
    return f"{where} failed unexpectedly: {type(error).__name__}: {_first_line(error)}{_unchanged(place)}"


def _first_line(error: BaseException) -> str:
    """The error's first line; for a Py4J error, the Java exception's line (``: java.lang...: why``)."""
    lines = str(error).strip().splitlines() or [""]
    java = [line[2:] for line in lines[1:4] if line.startswith(": ")]
    return (java[0] if java and lines[0].startswith("An error occurred while calling") else lines[0])[:300]


def _memory_had(place: FailurePlace | None) -> str:
    if place is None or (place.heap_max_bytes is None and place.driver_memory is None):
        return ""
    heap = f"a heap of {place.heap_max_bytes / 2**30:.2f} GiB" if place.heap_max_bytes else "its heap"
    setting = f", spark.driver_memory={place.driver_memory}" if place.driver_memory else ""
    return f" (the driver JVM had {heap}{setting})"


def _suggested(place: FailurePlace | None, physical_bytes: int | None) -> str:
    """Twice the heap the job had, at most 80% of physical memory; 12g when nothing is known."""
    current: int | None = place.heap_max_bytes if place else None
    if place and place.driver_memory:
        with contextlib.suppress(ValueError):
            current = size_bytes(place.driver_memory)
    if current is None:
        return "12g"
    doubled = max(2 * current, 2**30)
    if physical_bytes:
        doubled = min(doubled, int(0.8 * physical_bytes))
    return format_size(doubled - doubled % 2**30 if doubled >= 2**30 else doubled - doubled % 2**20)


def _exit_reason(exit_code: int | None) -> str:
    if exit_code is None:
        return ""
    if exit_code < 0:
        return f" (killed by signal {-exit_code}{', often the out-of-memory killer' if exit_code == -9 else ''})"
    return f" (exit code {exit_code})"


def _unchanged(place: FailurePlace | None) -> str:
    return "; no output table changed" if place else ""
