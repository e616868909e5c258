"""Bounded results for the notebooks, computed in Spark: only small aggregates or capped samples
reach pandas."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.explore.tables import Tables
from custseg.segment.migration import migration_matrix
from custseg.segment.pipeline import COMPONENTS, SCALED


def threshold_curve(tables: Tables, buckets: int = 50) -> Any:
    """Pairwise precision and recall among the candidate pairs at every probability threshold, where
    ground truth exists (``truth_records``): a pandas frame threshold, precision, recall, pairs.

    Recall is relative to the true pairs among the candidates (blocking's own losses are in
    ``resolution_metrics.blocking_pair_completeness``).
    """
    import pandas as pd

    truth = tables.read("truth_records").select("source", "record_id", "person_id")
    left = truth.select(F.col("source").alias("source_l"), F.col("record_id").alias("record_id_l"),
                        F.col("person_id").alias("person_l"))
    right = truth.select(F.col("source").alias("source_r"), F.col("record_id").alias("record_id_r"),
                         F.col("person_id").alias("person_r"))
    pairs = (tables.read("match_pairs").join(left, ["source_l", "record_id_l"], "inner")
             .join(right, ["source_r", "record_id_r"], "inner"))
    bucket = F.least(F.floor(F.col("match_probability") * buckets), F.lit(buckets - 1)).alias("bucket")
    counted: Any = (pairs.groupBy(bucket)
               .agg(F.count(F.lit(1)).alias("pairs"), F.count_if(F.col("person_l") == F.col("person_r")).alias("true"))
               .toPandas())  # at most `buckets` rows
    counted = counted.set_index("bucket").reindex(range(buckets), fill_value=0).sort_index(ascending=False)
    above, true_above = counted["pairs"].cumsum(), counted["true"].cumsum()
    curve = pd.DataFrame({"threshold": counted.index / buckets, "pairs": above,
                          "precision": (true_above / above.where(above > 0)).fillna(1.0),
                          "recall": true_above / max(int(counted["true"].sum()), 1)})
    return curve.sort_values("threshold").reset_index(drop=True)


def model_space_sample(tables: Tables, rows: int = 2000, seed: int = 7) -> tuple[Any, Any]:
    """Up to ``rows`` customers in the model's feature space: (frame of customer_id and segment_name,
    numpy matrix of the vector the clusterer read)."""
    import numpy as np
    from pyspark.ml.functions import vector_to_array

    features = tables.read("customer_features")
    total = max(features.count(), 1)
    sample = features.sample(fraction=min(1.0, 1.2 * rows / total), seed=seed).limit(rows)
    scored = tables.segment_model().transform(sample)
    column = COMPONENTS if COMPONENTS in scored.columns else SCALED
    frame = scored.select("customer_id", "segment_name", vector_to_array(F.col(column)).alias("vector")).toPandas()
    return frame[["customer_id", "segment_name"]], np.vstack(frame["vector"].to_numpy()) if len(frame) else None


def transition(tables: Tables, from_version: int, to_version: int) -> Any:
    """Customers moving between two versions of customer_segments, ids followed through merges:
    a pandas frame from_name, to_name, customers, share_of_from (one row per observed move)."""
    segments = "customer_segments"
    id_map = tables.read("customer_id_map") if tables.exists("customer_id_map") else None
    frame: DataFrame = migration_matrix(tables.read(segments, from_version), tables.read(segments, to_version), id_map)
    moves: Any = frame.toPandas()  # at most (segments + 1)^2 rows
    moves["from_name"] = [_label(s, n) for s, n in zip(moves["from_segment"], moves["from_name"], strict=True)]
    moves["to_name"] = [_label(s, n) for s, n in zip(moves["to_segment"], moves["to_name"], strict=True)]
    return moves[["from_name", "to_name", "customers", "share_of_from"]]


def _label(segment: Any, name: str) -> str:
    """'id: name', or the name alone for "(absent)" (a null id, NaN once in pandas)."""
    missing = segment is None or segment != segment  # NaN is the one value unequal to itself
    return name if missing else f"{int(segment)}: {name}"
