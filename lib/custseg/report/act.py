"""What the report shows of the act stage, when its tables exist: the chosen propensity model's test
metrics per target and segment beside the recency baseline (``model_metrics``), and the offline
evaluation of the recommender against popularity (``recommendation_eval``).

Both tables are appended to by every run; only the latest succeeded run of each job is shown. The
rows reaching the driver are bounded by targets x (segments + 1) x 2 and methods x (segments + 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import functions as F

from custseg.runtime import JobContext, segmentation_runs

MODEL_FIGURES = ("target", "segment_id", "model", "chosen", "reason", "rows", "positives", "roc_auc", "pr_auc",
                 "top_decile_lift", "top_decile_capture")
EVAL_FIGURES = ("method", "segment_id", "customers", "precision_at_k", "recall_at_k", "ndcg_at_k", "coverage", "k",
                "holdout_start")


@dataclass
class ActResults:
    """The latest propensity and recommend runs' figures; empty lists when a stage has not run."""

    propensity_run_id: str | None = None
    models: list[dict[str, Any]] = field(default_factory=list)
    recommend_run_id: str | None = None
    evaluation: list[dict[str, Any]] = field(default_factory=list)
    # The segmentation run whose segment ids each run's rows hold (None: not recorded)
    segmentation_runs: dict[str, str | None] = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        return bool(self.models or self.evaluation)


def gather_act(ctx: JobContext, latest: dict[str, str]) -> ActResults:
    """The rows of the latest runs of ``propensity`` and ``recommend`` (ids from ``latest``, job -> run id).

    Of ``model_metrics``: per target and segment (and overall, segment_id null) the model the segment
    chose (overall: ``model = 'chosen'``) and the ``recency_baseline``. Of ``recommendation_eval``:
    every method per segment and overall.
    """
    results = ActResults()
    if "propensity" in latest and ctx.table_exists("model_metrics"):
        run_id = latest["propensity"]
        rows = (ctx.read("model_metrics").filter((F.col("run_id") == run_id)
                                                 & (F.col("chosen") | (F.col("model") == "recency_baseline")))
                .select(*MODEL_FIGURES).orderBy("target", F.col("segment_id").asc_nulls_first(), "model").collect())
        results.propensity_run_id, results.models = run_id, [r.asDict() for r in rows]
    if "recommend" in latest and ctx.table_exists("recommendation_eval"):
        run_id = latest["recommend"]
        rows = (ctx.read("recommendation_eval").filter(F.col("run_id") == run_id).select(*EVAL_FIGURES)
                .orderBy(F.col("segment_id").asc_nulls_first(), "method").collect())
        results.recommend_run_id, results.evaluation = run_id, [r.asDict() for r in rows]
    shown = [r for r in (results.propensity_run_id, results.recommend_run_id) if r is not None]
    if shown:
        results.segmentation_runs = segmentation_runs(ctx.read("job_runs"), shown)
    return results


def segment_names(act: ActResults, run_id: str | None, segment_run_id: str,
                  names: dict[int, str]) -> dict[int, str]:
    """``names`` (of the segmentation run ``segment_run_id``) when run ``run_id`` used that
    segmentation run or did not record one; else none: its segment ids are another run's segments."""
    used = act.segmentation_runs.get(run_id) if run_id is not None else None
    return names if used in (None, segment_run_id) else {}
