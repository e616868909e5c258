"""Per-segment propensity: one model per segment and one global model with the segment as a
feature; each segment keeps whichever scores better on the test origin, and segments too small
to model (training rows or positives below the configured minimums, or one class only) use the
global model. Every candidate and the recency-only baseline are evaluated on the same rows.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce

from pyspark import StorageLevel
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.util import inheritable_thread_target

from custseg.act.labels import LABEL
from custseg.act.metrics import BinaryMetrics, binary_metrics
from custseg.act.models import SCORE, FittedModel, fit, score
from custseg.config.model import PropensitySettings

GLOBAL = "global"


@dataclass
class Candidate:
    """One evaluated model (or baseline) for a segment, or overall when ``segment_id`` is None."""

    target: str
    segment_id: int | None
    model: str                    # segment, global, chosen or recency_baseline
    metrics: BinaryMetrics
    chosen: bool = False
    reason: str = ""
    model_version: str | None = None
    train_rows: int = 0
    train_positives: int = 0
    fitted: FittedModel | None = None


@dataclass
class TargetResult:
    target: str
    test_origin: dt.date
    candidates: list[Candidate] = field(default_factory=list)
    models: dict[str, PipelineModel] = field(default_factory=dict)   # version -> model to save
    chosen_versions: dict[int, str] = field(default_factory=dict)    # segment -> model version

    def overall(self, model: str) -> Candidate:
        return next(c for c in self.candidates if c.segment_id is None and c.model == model)


def recency_baseline(frame: DataFrame, target: str) -> DataFrame:
    """A score from recency alone: the longer since the last order, the likelier churn and the
    less likely a purchase. Never-buyers count as the least recent."""
    days = F.coalesce(F.col("recency_days").cast("double"), F.lit(1.0e6))
    return frame.withColumn(SCORE, days if target == "churn" else -days)


def train_target(snapshots: DataFrame, settings: PropensitySettings, target: str, version_prefix: str) -> TargetResult:
    """Fit, compare and choose the models of ``target`` on labelled rolling-origin ``snapshots``."""
    test_origin = snapshots.agg(F.max("as_of_date")).first()[0]  # type: ignore[index]
    train = snapshots.filter(F.col("as_of_date") < F.lit(test_origin)).persist(StorageLevel.MEMORY_AND_DISK)
    test = snapshots.filter(F.col("as_of_date") == F.lit(test_origin)).persist(StorageLevel.MEMORY_AND_DISK)
    result = TargetResult(target, test_origin)
    global_fit = fit(train, settings, with_segment=True)
    global_version = f"{version_prefix}/{target}/{GLOBAL}"
    result.models[global_version] = global_fit.model
    global_test = score(global_fit.model, test, settings.features).persist(StorageLevel.MEMORY_AND_DISK)
    counts = {r["segment_id"]: (int(r["rows"]), int(r["positives"])) for r in train.groupBy("segment_id").agg(
        F.count(F.lit(1)).alias("rows"), F.sum(LABEL).alias("positives")).collect()}
    tested = {r["segment_id"] for r in test.select("segment_id").distinct().collect()}
    for segment_id in sorted(set(counts) - tested):  # nothing to compare on: its customers get the global model
        result.chosen_versions[segment_id] = global_version
    scope = _Scope(train, test, global_test, global_version, version_prefix)
    # Segments are fitted side by side: on small data each Spark job of a fit keeps one core
    # busy, and a fit is a long chain of them. The choices are merged in segment order.
    with ThreadPoolExecutor(max_workers=settings.parallelism) as pool:
        choices = list(pool.map(inheritable_thread_target(
            lambda segment_id: _choose_segment(target, scope, segment_id, *counts[segment_id], settings)),
            sorted(counts.keys() & tested)))
    for choice in choices:
        result.candidates += choice.candidates
        result.chosen_versions[choice.segment_id] = choice.version
        if choice.model is not None:
            result.models[choice.version] = choice.model
    chosen_frames = [choice.test for choice in choices]
    total_rows, total_positives = sum(r for r, _ in counts.values()), sum(p for _, p in counts.values())
    result.candidates += [
        Candidate(target, None, "chosen", binary_metrics(reduce(DataFrame.unionByName, chosen_frames), LABEL, SCORE),
                  chosen=True, reason="each segment's chosen model", train_rows=total_rows,
                  train_positives=total_positives),
        Candidate(target, None, GLOBAL, binary_metrics(global_test, LABEL, SCORE), model_version=global_version,
                  train_rows=total_rows, train_positives=total_positives, fitted=global_fit),
        Candidate(target, None, "recency_baseline", binary_metrics(recency_baseline(test, target), LABEL, SCORE,
                                                                    calibrated=False)),
    ]
    for frame in (train, test, global_test):
        frame.unpersist()
    return result


@dataclass
class _Scope:
    train: DataFrame
    test: DataFrame
    global_test: DataFrame        # the test rows scored by the global model
    global_version: str
    version_prefix: str


@dataclass
class _SegmentChoice:
    segment_id: int
    candidates: list[Candidate]
    version: str                      # the chosen model's version
    model: PipelineModel | None       # the segment's own model when it won, to save
    test: DataFrame                   # the segment's test rows scored by the chosen model


def _choose_segment(target: str, scope: _Scope, segment_id: int, rows: int, positives: int,
                    settings: PropensitySettings) -> _SegmentChoice:
    """Evaluate the global model, the baseline and (when the segment is large enough) its own
    model on the segment's test rows, and choose."""
    in_segment = F.col("segment_id") == segment_id
    shared_test = scope.global_test.filter(in_segment)
    shared = Candidate(target, segment_id, GLOBAL, binary_metrics(shared_test, LABEL, SCORE),
                       model_version=scope.global_version, train_rows=rows, train_positives=positives)
    baseline = Candidate(target, segment_id, "recency_baseline", binary_metrics(
        recency_baseline(scope.test.filter(in_segment), target), LABEL, SCORE, calibrated=False))
    too_small = _too_small(rows, positives, settings)
    if too_small:
        shared.chosen, shared.reason = True, too_small
        return _SegmentChoice(segment_id, [shared, baseline], scope.global_version, None, shared_test)
    fitted = fit(scope.train.filter(in_segment), settings, with_segment=False)
    version = f"{scope.version_prefix}/{target}/segment-{segment_id}"
    own_test = score(fitted.model, scope.test.filter(in_segment), settings.features)
    own = Candidate(target, segment_id, "segment", binary_metrics(own_test, LABEL, SCORE), model_version=version,
                    train_rows=rows, train_positives=positives, fitted=fitted)
    winner, reason = _better(own, shared)
    winner.chosen, winner.reason = True, reason
    if winner is not own:
        return _SegmentChoice(segment_id, [shared, baseline, own], scope.global_version, None, shared_test)
    return _SegmentChoice(segment_id, [shared, baseline, own], version, fitted.model, own_test)


def _too_small(rows: int, positives: int, settings: PropensitySettings) -> str:
    """Why a segment cannot have its own model ('' when it can)."""
    if rows < settings.min_segment_rows:
        return f"fallback: {rows} training rows < min_segment_rows {settings.min_segment_rows}"
    if min(positives, rows - positives) < settings.min_segment_positives:
        return (f"fallback: {positives} positive and {rows - positives} negative training rows, "
                f"fewer than min_segment_positives {settings.min_segment_positives} of one class")
    return ""


def _better(own: Candidate, shared: Candidate) -> tuple[Candidate, str]:
    """The segment's own model when its test ROC-AUC is higher, else the global one."""
    mine, theirs = own.metrics.roc_auc, shared.metrics.roc_auc
    if mine is None or theirs is None:
        return shared, "global: the test origin holds one class only in this segment"
    if mine > theirs:
        return own, f"segment model: test ROC-AUC {mine:.4f} > global {theirs:.4f}"
    return shared, f"global model: test ROC-AUC {theirs:.4f} >= segment model {mine:.4f}"
