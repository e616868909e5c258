"""What runs recorded in ``job_runs``, read back by later jobs, the report and notebooks."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# The run metric naming the segmentation run whose segment ids a run's rows hold (propensity, recommend)
SEGMENT_MODEL_RUN = "segment_model_run"


def segmentation_runs(job_runs_df: DataFrame, run_ids: Sequence[str]) -> dict[str, str | None]:
    """Run id -> the segmentation run it recorded (None: it recorded none), for the runs of ``run_ids``
    that ``job_runs_df`` holds."""
    rows = (job_runs_df.filter(F.col("run_id").isin(list(run_ids)))
            .select("run_id", F.col("metrics")[SEGMENT_MODEL_RUN].alias("segmentation_run"))
            .collect())  # a row per run id asked for
    return {r["run_id"]: r["segmentation_run"] for r in rows}
