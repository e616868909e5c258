"""Frames computed once and reused by many queries, kept without their lineage."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import DataFrame


def stored(frame: DataFrame) -> DataFrame:
    """``frame`` computed now and kept, as a frame whose plan is a scan of the kept rows.

    A persisted frame keeps its whole lineage as its plan: each later query that reads it is
    analysed and optimized over that lineage again, and the cache lookup compares it with every
    cached plan. For a frame built from dozens of joins that planning costs more than running the
    query on small data, and it is paid on every action. A local session keeps the rows on its
    executor (``localCheckpoint``: memory, then disk); on a cluster they go to the checkpoint
    directory, so losing an executor does not lose them. The job's end releases them as it
    releases any persisted RDD.

    Locally the rows are kept serialized (``StorageLevel.MEMORY_AND_DISK`` is the JVM's serialized
    level): a block is a few large byte buffers, not an object per row. A local checkpoint's own
    default keeps an object per row, and frames of tens of millions of rows (ALS candidates for a
    million customers) then sit in the old generation as objects each collection walks again.
    """
    if (frame.sparkSession.sparkContext.master or "").startswith("local"):
        return frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)
    return frame.checkpoint(eager=True)
