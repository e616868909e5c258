"""Broadcast joins for frames whose size is known only at run time (an incremental run's
change set is usually small, but a changed setting can make it the whole data)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# Rows up to which a narrow frame (node ids, block keys: tens of bytes a row) is sent whole
# to every executor, so the large side of its join is scanned rather than shuffled.
MAX_BROADCAST_ROWS = 1_000_000


def broadcast_if_small(frame: DataFrame, max_rows: int = MAX_BROADCAST_ROWS) -> DataFrame:
    """``frame`` marked for a broadcast join when it holds at most ``max_rows`` rows, else as
    it is. It is counted: pass a stored (checkpointed) frame, or one cheap to compute."""
    return F.broadcast(frame) if frame.count() <= max_rows else frame
