"""Decisions a person recorded on pairs: honoured as forced matches or non-matches, and used
to measure the model's precision on the pairs they labelled."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.errors import InputDataError
from custseg.resolve.identities import record_node

COLUMNS = ["source_l", "record_id_l", "source_r", "record_id_r", "decision"]


def read_decisions(spark: SparkSession, path: str) -> DataFrame:
    """(node_l, node_r, label) with node_l < node_r; label True for match, False for non_match."""
    try:
        frame = spark.read.option("header", "true").csv(path)
    except Exception as exc:
        raise InputDataError(f"resolve.decisions_file: cannot read {path}: {str(exc).splitlines()[0][:200]}") from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputDataError(f"resolve.decisions_file {path}: missing column(s) {missing}; found {frame.columns}")
    decision = F.lower(F.trim("decision"))
    bad = frame.filter(~decision.isin("match", "non_match") | decision.isNull())
    row = bad.first()
    if row is not None:
        raise InputDataError(f"resolve.decisions_file {path}: decision must be match or non_match, "
                             f"found {row['decision']!r} for {row['source_l']}:{row['record_id_l']} / "
                             f"{row['source_r']}:{row['record_id_r']}")
    a = record_node(F.col("source_l").cast("string"), F.col("record_id_l").cast("string"))
    b = record_node(F.col("source_r").cast("string"), F.col("record_id_r").cast("string"))
    return frame.select(F.least(a, b).alias("node_l"), F.greatest(a, b).alias("node_r"),
                        (decision == "match").alias("label"))


def labelled_quality(scored: DataFrame, labels: DataFrame, threshold: float) -> dict[str, float]:
    """Precision and recall of the model's own decisions (before forcing) on labelled pairs."""
    joined = labels.join(scored.select("node_l", "node_r", "match_probability"), ["node_l", "node_r"], "left")
    predicted = F.coalesce(F.col("match_probability"), F.lit(0.0)) >= threshold
    row = joined.agg(
        F.count(F.lit(1)).alias("labelled"),
        F.count_if(predicted & F.col("label")).alias("tp"), F.count_if(predicted & ~F.col("label")).alias("fp"),
        F.count_if(~predicted & F.col("label")).alias("fn"),
    ).first()
    assert row is not None
    tp, fp, fn = row.tp, row.fp, row.fn
    return {"labelled_pairs": float(row.labelled),
            "labelled_precision": tp / (tp + fp) if tp + fp else 1.0,
            "labelled_recall": tp / (tp + fn) if tp + fn else 1.0}
