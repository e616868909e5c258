"""The act notebook's segment labels: names only for the segmentation run a model was made for."""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.explore import act


def test_segments_of_another_segmentation_run_keep_their_bare_ids(spark: SparkSession) -> None:
    profiles = spark.createDataFrame([(1, "big spenders", "segment-r1"), (2, "dormant", "segment-r1")],
                                     "segment_id int, segment_name string, model_run_id string")
    rows = spark.createDataFrame([(1, 0.9), (2, 0.8), (None, 0.85)], "segment_id int, roc_auc double")

    def labelled(segmentation_run: str | None) -> list[str]:
        labels = act.segment_labels(profiles, segmentation_run)
        return [r.segment for r in act.with_segment(rows, labels).orderBy("roc_auc").collect()]

    assert labelled("segment-r1") == labelled(None) == ["2: dormant", act.ALL_CUSTOMERS, "1: big spenders"]
    assert labelled("segment-r0") == ["2", act.ALL_CUSTOMERS, "1"]
