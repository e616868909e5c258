"""Segment migration between two versions of customer_segments: who moved where.

A customer present in only one version moves from or to "(absent)". When ids were merged
between the versions, the earlier version's ids are first followed to the ids holding their
records now (customer_id_map), so a merge is not counted as one customer leaving and another
arriving.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from custseg.resolve.stable_ids import follow_ids

ABSENT = "(absent)"


def migration_matrix(before: DataFrame, after: DataFrame, id_map: DataFrame | None = None) -> DataFrame:
    """(from_segment, from_name, to_segment, to_name, customers, share_of_from) for every
    observed transition; ``before`` and ``after``: customer_id, segment_id, segment_name."""
    if id_map is not None:
        # A merged customer counts once, in the segment most of its former ids were in.
        before = follow_ids(before, "customer_id", id_map)
        votes = Window.partitionBy("customer_id").orderBy(F.col("votes").desc(), F.col("segment_id"))
        before = (before.groupBy("customer_id", "segment_id", "segment_name").agg(F.count(F.lit(1)).alias("votes"))
                  .withColumn("rank", F.row_number().over(votes)).filter("rank = 1").drop("rank", "votes"))
    left = before.select("customer_id", F.col("segment_id").alias("from_segment"),
                         F.col("segment_name").alias("from_name"))
    right = after.select("customer_id", F.col("segment_id").alias("to_segment"), F.col("segment_name").alias("to_name"))
    moves = left.join(right, "customer_id", "full").groupBy("from_segment", "from_name", "to_segment", "to_name") \
        .agg(F.count(F.lit(1)).alias("customers"))
    origin = Window.partitionBy("from_segment", "from_name")
    return moves.select(
        "from_segment", F.coalesce("from_name", F.lit(ABSENT)).alias("from_name"),
        "to_segment", F.coalesce("to_name", F.lit(ABSENT)).alias("to_name"), "customers",
        (F.col("customers") / F.sum("customers").over(origin)).alias("share_of_from"),
    )


def render(matrix_rows: list[dict[str, object]]) -> str:
    """A text matrix: rows are the earlier segments, columns the later ones."""
    def label(segment: object, name: object) -> str:
        return str(name) if segment is None else f"{segment}: {name}"

    rows = sorted({label(r["from_segment"], r["from_name"]) for r in matrix_rows})
    columns = sorted({label(r["to_segment"], r["to_name"]) for r in matrix_rows})
    cells = {(label(r["from_segment"], r["from_name"]), label(r["to_segment"], r["to_name"])): r["customers"]
             for r in matrix_rows}
    width = max([len(c) for c in columns] + [8])
    first = max([len(r) for r in rows] + [4])
    lines = [" " * first + " | " + " | ".join(c.rjust(width) for c in columns)]
    for row in rows:
        lines.append(row.ljust(first) + " | " + " | ".join(f"{cells.get((row, c), 0):,}".rjust(width) for c in columns))
    return "\n".join(lines)
