"""Where a job's time goes: named phases with their seconds and the Spark jobs they launched.

Spark evaluates lazily, so a phase is the stretch between two marks, and holds the work of
whatever action ran in it (a count, a collect, a table staged); a frame computed lazily is
paid for by the first phase that uses it. The clock is injected, so tests can drive it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import SparkSession


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    spark_jobs: int | None   # None where Spark does not report its jobs


class PhaseClock:
    """Marks phases of one job; ``mark(name)`` closes the phase that ran since the last mark."""

    def __init__(self, spark: SparkSession | None = None, job_group: str | None = None,
                 now: Callable[[], float] = time.perf_counter):
        self._spark, self._group, self._now = spark, job_group, now
        self._last, self._last_jobs = now(), self._jobs()
        self.phases: list[Phase] = []

    def mark(self, name: str) -> Phase:
        now, jobs = self._now(), self._jobs()
        launched = jobs - self._last_jobs if jobs is not None and self._last_jobs is not None else None
        phase = Phase(name, now - self._last, launched)
        self.phases.append(phase)
        self._last, self._last_jobs = now, jobs
        return phase

    def as_json(self) -> str:
        """``{phase: [seconds, spark jobs]}`` in the order the phases ran (a repeated name adds up)."""
        totals: dict[str, list[float | int | None]] = {}
        for p in self.phases:
            seconds, jobs = totals.get(p.name, [0.0, 0])
            both = None if jobs is None or p.spark_jobs is None else int(jobs) + p.spark_jobs
            totals[p.name] = [round(float(seconds or 0.0) + p.seconds, 2), both]
        return json.dumps(totals)

    def _jobs(self) -> int | None:
        if self._spark is None or self._group is None:
            return None
        try:
            return len(self._spark.sparkContext.statusTracker().getJobIdsForGroup(self._group))
        except Exception:  # a stopped context reports nothing; the seconds still count
            return None
