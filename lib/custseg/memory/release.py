"""Release what a job persisted when it ends, whatever way it persisted it.

``spark.catalog.clearCache()`` only drops DataFrames registered with the cache manager. An
``RDD.persist``, the RDD behind ``DataFrame.localCheckpoint`` and the caches Spark ML
estimators leave behind stay in the block manager until the session ends, so a session
running job after job (``run_all``, notebooks, the tests) kept them all. The RDDs persisted
while the job ran are the ones the session lists afterwards that it did not list before.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def persisted_rdd_ids(spark: SparkSession) -> set[int]:
    """Ids of the RDDs the session holds persisted now (``SparkContext.getPersistentRDDs``)."""
    jsc = spark.sparkContext._jsc
    assert jsc is not None
    # One round trip: walking a Java key set from Python ends in an exception py4j converts slowly.
    listed = str(jsc.sc().getPersistentRDDs().keys().mkString(","))
    return {int(rdd_id) for rdd_id in listed.split(",") if rdd_id}


class PersistedDuringJob:
    """What a job, or a part of one, persists from its start: ``release()`` unpersists it and
    nothing older.

    A cache the caller made before the job (a notebook's frame, say) survives: the cache
    manager is cleared only when it held nothing at the start, and other RDDs are released by
    id.
    """

    def __init__(self, spark: SparkSession):
        self.spark = spark
        self.before = persisted_rdd_ids(spark)
        self.cache_was_empty = bool(spark._jsparkSession.sharedState().cacheManager().isEmpty())

    def release(self) -> int:
        """Unpersist every RDD persisted since the start; returns how many RDDs were released."""
        new_ids = persisted_rdd_ids(self.spark) - self.before
        if self.cache_was_empty:
            self.spark.catalog.clearCache()
        jsc = self.spark.sparkContext._jsc
        assert jsc is not None
        persisted = jsc.getPersistentRDDs()
        for rdd_id in new_ids:
            rdd = persisted.get(rdd_id)
            if rdd is not None:
                # Blocking: removals left running in the background end in stack traces when the
                # session stops right after the job.
                rdd.unpersist(True)
        return len(new_ids)

    def left(self) -> int:
        """RDDs persisted since the start and still held (0 after ``release``)."""
        return len(persisted_rdd_ids(self.spark) - self.before)
