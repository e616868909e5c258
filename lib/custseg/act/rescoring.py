"""Keeping ``propensity_scores`` in step with segments assigned after the propensity run.

A customer's score comes from the model their segment chose, so a customer that ``assign``
places anew (new, changed, or segmented by another model) needs a fresh score: from the chosen
model of the latest propensity run for the segment the saved segmentation model gives them,
on features built exactly as the propensity run built them, as of the same date. Everyone
else keeps their score; deciles are cut again over the whole table, as the propensity run
cuts them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from functools import reduce

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.act.inputs import customer_data
from custseg.act.propensity import GLOBAL
from custseg.act.scoring import score_by_segment, with_deciles
from custseg.act.stage import with_segments
from custseg.config.resolved import join_path
from custseg.errors import InputDataError
from custseg.features import build_features
from custseg.files import exists
from custseg.runtime import JobContext, segmentation_runs
from custseg.tables.act import MODEL_METRICS, PROPENSITY_SCORES

log = logging.getLogger(__name__)


def refresh_propensity_scores(ctx: JobContext, rescored: DataFrame, segmentation: PipelineModel,
                              segmentation_run: str) -> None:
    """Writes ``propensity_scores`` again with fresh scores for the ``rescored`` customers
    (a ``customer_id`` column) and without customers gone from ``customer_features``.

    Does nothing before the first propensity run, and warns instead when that run chose its
    models for the segments of another segmentation run than ``segmentation_run`` (segment ids
    are not comparable across runs). The scores are as of the propensity run's date: a customer
    first seen after it gets none until ``propensity`` runs again.
    """
    if not (ctx.table_exists(PROPENSITY_SCORES.name) and ctx.table_exists(MODEL_METRICS.name)):
        return
    current = ctx.read(PROPENSITY_SCORES.name)
    runs = current.select("run_id", "as_of_date").distinct().limit(2).collect()  # one: the job overwrites the table
    if len(runs) != 1:
        return  # empty, or written by hand
    run_id, as_of = str(runs[0].run_id), runs[0].as_of_date
    ctx.metrics["propensity_run_id"] = run_id
    trained_on = segmentation_runs(ctx.read("job_runs"), [run_id]).get(run_id)
    if trained_on != segmentation_run:
        warning = (f"propensity_scores not refreshed: propensity run {run_id} chose its models for the segments of "
                   f"segmentation run {trained_on}, not {segmentation_run}; run `custseg propensity` again")
        log.warning("assign: %s", warning)
        ctx.metrics["warnings"] = json.dumps([warning])
        return
    if rescored.isEmpty():
        return
    chosen = _chosen_versions(ctx, run_id)
    fresh = _scored(ctx, rescored, segmentation, run_id, as_of, chosen)
    present = ctx.read("customer_features").select("customer_id")
    kept = (current.join(present, "customer_id", "left_semi").join(rescored, "customer_id", "left_anti")
            .drop("decile"))
    columns = PROPENSITY_SCORES.schema.fieldNames()
    targets = sorted(str(r.target) for r in current.select("target").distinct().collect())  # churn, purchase
    refreshed = []
    for target in targets:  # a target no chosen model covers keeps its scores, cut into deciles again
        rows = kept.filter(F.col("target") == target)
        if target in fresh:
            rows = rows.unionByName(fresh[target])
        refreshed.append(with_deciles(rows).select(*columns))
    ctx.write(PROPENSITY_SCORES.name, reduce(DataFrame.unionByName, refreshed))


def _chosen_versions(ctx: JobContext, run_id: str) -> dict[str, dict[int, str]]:
    """target -> segment id -> the model version that segment chose in propensity run ``run_id``."""
    rows = (ctx.read(MODEL_METRICS.name)
            .filter((F.col("run_id") == run_id) & F.col("chosen") & F.col("segment_id").isNotNull())
            .select("target", "segment_id", "model_version").collect())  # targets x segments
    chosen: dict[str, dict[int, str]] = {}
    for row in rows:
        chosen.setdefault(row.target, {})[int(row.segment_id)] = str(row.model_version)
    if not chosen:
        raise InputDataError(f"assign: model_metrics has no chosen model of propensity run {run_id!r}, the run "
                             "behind propensity_scores; run `custseg propensity` again")
    return chosen


def _scored(ctx: JobContext, rescored: DataFrame, segmentation: PipelineModel, run_id: str, as_of: dt.date,
            chosen: dict[str, dict[int, str]]) -> dict[str, DataFrame]:
    """target -> fresh ``propensity_scores`` rows (without deciles) of the rescored customers."""
    settings = ctx.config.propensity
    data = customer_data(ctx)
    # Built for everyone and filtered after: features such as the RFM scores are cut over all customers.
    built = build_features(data.master, data.orders, data.lines, data.events, as_of, ctx.config.features)
    population = with_segments(built.join(rescored, "customer_id", "left_semi"), segmentation)
    fresh = {}
    for target, versions in sorted(chosen.items()):
        fallback = f"{run_id}/{target}/{GLOBAL}"
        models = {version: _load(ctx, version) for version in {*versions.values(), fallback}}
        rows = population if target == "purchase" else population.filter(F.col("frequency") > 0)
        fresh[target] = score_by_segment(rows, versions, models, fallback, settings.features).select(
            "customer_id", F.lit(target).alias("target"), "segment_id", "model_version", "score", "as_of_date",
            F.lit(run_id).alias("run_id"))
    return fresh


def _load(ctx: JobContext, version: str) -> PipelineModel:
    path = join_path(ctx.config.models_dir, "propensity", version)
    if not exists(ctx.spark, path):
        raise InputDataError(f"assign: the propensity model {version!r} behind propensity_scores is missing at "
                             f"{path}; run `custseg propensity` again")
    return PipelineModel.load(path)
