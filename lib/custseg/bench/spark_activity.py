"""What a stage asked of Spark: the jobs it launched and the shuffle bytes it moved.

Both come from Spark's status store, which the UI reads too but which is kept whether or not
the UI runs. The store hears of finished tasks through the listener bus, so its queue is
drained before each reading; a figure Spark cannot give is recorded as None, never guessed.
"""

from __future__ import annotations

import logging
from typing import Any

from py4j.protocol import Py4JError
from pyspark.sql import SparkSession

log = logging.getLogger(__name__)
DRAIN_TIMEOUT_MS = 300_000


def spark_activity(spark: SparkSession) -> tuple[int, int] | None:
    """Shuffle bytes read and written so far by every executor of the application, dead or
    alive (in local mode, the driver's one); None when the listener bus did not drain in time."""
    context = spark.sparkContext._jsc.sc()  # type: ignore[union-attr]
    try:
        context.listenerBus().waitUntilEmpty(DRAIN_TIMEOUT_MS)  # raises a TimeoutException when it does not
        summaries = context.statusStore().executorList(False).iterator()
        read = written = 0
        while summaries.hasNext():
            summary = summaries.next()
            read, written = read + int(summary.totalShuffleRead()), written + int(summary.totalShuffleWrite())
    except Py4JError:
        log.warning("bench: Spark's listener bus did not drain in %d s or its status store could not be read; "
                    "shuffle bytes not recorded", DRAIN_TIMEOUT_MS // 1000, exc_info=True)
        return None
    return read, written


def activity_since(spark: SparkSession, before: tuple[int, int] | None, job_group: str) -> dict[str, Any]:
    """``spark_jobs`` of ``job_group`` (a run's id) and the shuffle MB read and written since ``before``.

    Args:
        spark: the session the stage ran in.
        before: ``spark_activity`` as the stage started.
        job_group: the run id the job set as its Spark job group.

    Returns:
        ``spark_jobs``, ``shuffle_read_mb`` and ``shuffle_write_mb``; None for a figure Spark
        did not give (an executor forgotten, a bus that did not drain).
    """
    after = spark_activity(spark)  # drains the bus first, so the stage's last jobs are counted too
    jobs = len(spark.sparkContext.statusTracker().getJobIdsForGroup(job_group))
    if before is None or after is None or after[0] < before[0] or after[1] < before[1]:
        return {"spark_jobs": jobs, "shuffle_read_mb": None, "shuffle_write_mb": None}
    return {"spark_jobs": jobs, "shuffle_read_mb": round((after[0] - before[0]) / 2**20, 1),
            "shuffle_write_mb": round((after[1] - before[1]) / 2**20, 1)}
