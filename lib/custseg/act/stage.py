"""Job bodies of the act stage: ``propensity`` (train, choose, score, track) and ``recommend``."""

from __future__ import annotations

import json

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.act.inputs import customer_data, segment_model
from custseg.act.labels import feature_snapshots, rolling_origins, with_labels
from custseg.act.propensity import GLOBAL, Candidate, TargetResult, train_target
from custseg.act.scoring import score_by_segment, with_deciles
from custseg.act.tracking import log_model_run, mlflow_run
from custseg.config.resolved import join_path
from custseg.features import build_features, default_as_of
from custseg.files import remove
from custseg.memory import stored
from custseg.runtime import SEGMENT_MODEL_RUN, JobContext
from custseg.tables.act import MODEL_METRICS, PROPENSITY_SCORES


def with_segments(frame: DataFrame, model: PipelineModel) -> DataFrame:
    """``frame`` with each row's ``segment_id`` from the saved segmentation model."""
    return model.transform(frame).select(*frame.columns, "segment_id")


def propensity_body(ctx: JobContext) -> None:
    settings = ctx.config.propensity
    data = customer_data(ctx)
    segment_run, segments = segment_model(ctx)
    end = ctx.config.features.as_of or default_as_of(data.orders, data.events)
    origins = rolling_origins(end, settings)
    snapshots = with_segments(feature_snapshots(data.master, data.orders, data.lines, data.events, origins,
                                                ctx.config.features), segments).transform(stored)
    current = with_segments(build_features(data.master, data.orders, data.lines, data.events, end, ctx.config.features),
                            segments).transform(stored)
    results: list[TargetResult] = []
    scores = []
    for target in settings.targets:
        labelled = with_labels(snapshots, data.orders, data.lines, origins, settings, target)
        result = train_target(labelled, settings, target, ctx.run_id)
        results.append(result)
        population = current if target == "purchase" else current.filter(F.col("frequency") > 0)
        scored = score_by_segment(population, result.chosen_versions, result.models,
                                  f"{ctx.run_id}/{target}/{GLOBAL}", settings.features)
        scores.append(with_deciles(scored).select(
            "customer_id", F.lit(target).alias("target"), "segment_id", "model_version", "score", "decile",
            "as_of_date", F.lit(ctx.run_id).alias("run_id")))
    _save_models(ctx, results)
    ctx.write_rows(MODEL_METRICS.name, _metric_rows(ctx, results))
    ctx.write(PROPENSITY_SCORES.name, scores[0] if len(scores) == 1 else scores[0].unionByName(scores[1]))
    ctx.metrics.update(_summary(results, segment_run, origins))
    if settings.mlflow:
        _track(ctx, results)


def _save_models(ctx: JobContext, results: list[TargetResult]) -> None:
    root = join_path(ctx.config.models_dir, "propensity", ctx.run_id)
    for result in results:
        for version, model in result.models.items():
            model.write().overwrite().save(join_path(ctx.config.models_dir, "propensity", version))
    ctx.after_commit(lambda: None, on_failure=lambda: remove(ctx.spark, root))
    ctx.metrics["model_path"] = root


def _metric_rows(ctx: JobContext, results: list[TargetResult]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for result in results:
        for c in result.candidates:
            m = c.metrics
            fitted = c.fitted
            rows.append((
                ctx.run_id, c.target, c.segment_id, c.model, c.model_version, c.chosen, c.reason or "",
                ctx.config.propensity.algorithm, result.test_origin, c.train_rows, c.train_positives,
                m.rows, m.positives,
                m.roc_auc, m.pr_auc, m.top_decile_lift, m.top_decile_capture, m.brier, m.reliability,
                fitted.importances if fitted else None, fitted.best_params if fitted else None,
                fitted.validation_auc if fitted else None))
    return rows


def _summary(results: list[TargetResult], segment_run: str, origins: list) -> dict[str, str]:
    summary = {SEGMENT_MODEL_RUN: segment_run, "origins": ",".join(o.isoformat() for o in origins)}
    for result in results:
        t = result.target
        for model in ("chosen", GLOBAL, "recency_baseline"):
            auc = result.overall(model).metrics.roc_auc
            summary[f"{t}_{model}_roc_auc"] = f"{auc:.4f}" if auc is not None else "n/a"
        chosen = [c for c in result.candidates if c.chosen and c.segment_id is not None]
        summary[f"{t}_segment_models"] = str(sum(c.model == "segment" for c in chosen))
        summary[f"{t}_fallbacks"] = str(sum(c.reason.startswith("fallback") for c in chosen))
        summary[f"{t}_choices"] = json.dumps({str(c.segment_id): c.model for c in chosen})
        lift = result.overall("chosen").metrics.top_decile_lift
        summary[f"{t}_top_decile_lift"] = f"{lift:.3f}" if lift is not None else "n/a"
    return summary


def _track(ctx: JobContext, results: list[TargetResult]) -> None:
    settings = ctx.config.propensity
    params = {"algorithm": settings.algorithm, "horizon_days": settings.horizon_days, "origins": settings.origins,
              "origin_step_days": settings.origin_step_days, "grid": json.dumps(settings.grid),
              "features": ",".join(settings.features), "custseg_run_id": ctx.run_id}
    with mlflow_run(settings, ctx.config.root_dir, ctx.run_id, params) as mlflow:
        for result in results:
            for c in result.candidates:
                _log_candidate(mlflow, ctx, c)
        mlflow.set_tag("model_path", ctx.metrics["model_path"])


def _log_candidate(mlflow: object, ctx: JobContext, c: Candidate) -> None:
    scope = "overall" if c.segment_id is None else f"segment-{c.segment_id}"
    tags = {"target": c.target, "segment": scope, "model": c.model, "chosen": str(c.chosen), "reason": c.reason}
    if c.model_version:
        tags["model_version"] = c.model_version
        tags["model_path"] = join_path(ctx.config.models_dir, "propensity", c.model_version)
    metrics = c.metrics.as_dict()
    if c.fitted:
        metrics.update({f"importance_{k}": v for k, v in c.fitted.importances.items()})
        if c.fitted.validation_auc is not None:
            metrics["validation_auc"] = c.fitted.validation_auc
    log_model_run(mlflow, f"{c.target}/{scope}/{c.model}", c.fitted.best_params if c.fitted else {}, metrics, tags)
