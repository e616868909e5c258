"""Peak memory of a stage: resident memory of the JVM and of the Python workers, and the heap.

Resident memory is sampled from the process tree (psutil) in a thread. The heap figure comes
from the JVM's own pools (``java.lang.management``): their peaks are reset when a stage starts,
and the old generation's peak (what survived collections) over the heap allowed is the
stage's heap share: a stage creeping towards 1.0 will soon run out of heap.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import psutil
from py4j.protocol import Py4JError
from pyspark.sql import SparkSession


@dataclass
class TreePeaks:
    driver: int = 0          # this Python process
    jvm: int = 0             # java processes under it (the driver JVM in local mode)
    python_workers: int = 0  # Python processes under it: pyspark daemons and workers
    total: int = 0           # driver, JVM and Python processes at their largest sample


class ProcessPeaks:
    """Peak resident bytes of this process, its JVM and its Python workers, sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.25):
        self.interval, self.peaks = interval, TreePeaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ProcessPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process(os.getpid())
        while not self._stop.is_set():
            try:
                driver = me.memory_info().rss
                children = me.children(recursive=True)
            except psutil.Error:
                children, driver = [], 0
            jvm, workers = resident_by_kind(children)
            peaks = self.peaks
            peaks.driver, peaks.jvm = max(peaks.driver, driver), max(peaks.jvm, jvm)
            peaks.python_workers = max(peaks.python_workers, workers)
            peaks.total = max(peaks.total, driver + jvm + workers)
            self._stop.wait(self.interval)


def resident_by_kind(children: Iterable[psutil.Process]) -> tuple[int, int]:
    """Resident bytes of the JVMs and of the Python processes among ``children``.

    Other processes are left out. Besides small helpers (``jspawnhelper``), they include a JVM's
    child caught between its clone and its exec: it still shares the JVM's pages and reports the
    JVM's whole resident size, under the name of the JVM thread that launched it.
    """
    jvm = workers = 0
    for child in children:
        try:
            name, rss = child.name(), child.memory_info().rss
        except psutil.Error:
            continue
        if name == "java":
            jvm += rss
        elif name.startswith("python"):
            workers += rss
    return jvm, workers


def _heap_pools(spark: SparkSession) -> list:  # type: ignore[type-arg]
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    management = jvm.java.lang.management
    heap = management.MemoryType.HEAP
    return [p for p in management.ManagementFactory.getMemoryPoolMXBeans() if p.getType().equals(heap)]


def reset_heap_peaks(spark: SparkSession) -> None:
    """Start the heap pools' peaks afresh (at the start of a stage)."""
    try:
        for pool in _heap_pools(spark):
            pool.resetPeakUsage()
    except Py4JError:
        pass


def heap_peaks(spark: SparkSession) -> dict[str, float]:
    """heap_max_mb, heap_peak_used_mb (old generation) and heap_peak_share since the last reset."""
    try:
        pools = _heap_pools(spark)
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        heap_max = int(jvm.java.lang.Runtime.getRuntime().maxMemory())
        old = [p for p in pools if "Old" in p.getName() or "Tenured" in p.getName()]
        peak = sum(int(p.getPeakUsage().getUsed()) for p in (old or pools))
    except Py4JError:
        return {}
    return {"heap_max_mb": round(heap_max / 2**20), "heap_peak_used_mb": round(peak / 2**20),
            "heap_peak_share": round(peak / heap_max, 3) if heap_max else 0.0}
