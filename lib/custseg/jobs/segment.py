"""Job `segment`: fit the segmentation pipeline, choose k, write segments, profiles and the model."""

from __future__ import annotations

import json

from pyspark import StorageLevel
from pyspark.ml import PipelineModel
from pyspark.ml.feature import PCAModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.generate.rawfiles import remove
from custseg.runtime import JobContext, JobResult, run_job
from custseg.segment import (
    PREDICTION,
    choose,
    evaluate_k_range,
    full_model,
    name_segments,
    preprocessing,
    profile_segments,
)
from custseg.segment.validation import adjusted_rand_index, planted_archetypes, validate
from custseg.tables.gold import SEGMENTATION_RUNS


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "segment", _segment, parent_run_id)


def _segment(ctx: JobContext) -> None:
    settings = ctx.config.segment
    features = ctx.read("customer_features")
    prep_model = preprocessing(settings).fit(features)
    prepared = prep_model.transform(features).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        results = evaluate_k_range(prepared, settings)
        best = choose(results)
        checked = validate(prepared, settings, best.k, best.model) if settings.bootstrap_samples else None
        recovered = _archetype_recovery(ctx, best.model.transform(prepared))
        components, explained = _pca_summary(prep_model)
        model = full_model(prep_model, best.model)
        assigned = best.model.transform(prepared).select(*features.columns, PREDICTION).persist(StorageLevel.MEMORY_AND_DISK)
        profiles = profile_segments(assigned, settings.features, ctx.run_id)
        names = name_segments([r.asDict(recursive=True) for r in profiles.collect()], ctx.config.features)  # k rows
        name_map = F.create_map(*[F.lit(x) for sid, name in names.items() for x in (sid, name)])
        ctx.write("segment_profiles", profiles.withColumn("segment_name", F.element_at(name_map, F.col(PREDICTION))))
        ctx.write("customer_segments", assigned.select(
            "customer_id", "as_of_date", PREDICTION, F.element_at(name_map, F.col(PREDICTION)).alias("segment_name"),
            "lifecycle_stage", "rfm_segment", "age_band", "region", F.lit(ctx.run_id).alias("model_run_id"),
        ))
        ctx.write(SEGMENTATION_RUNS.name, ctx.spark.createDataFrame(
            [(ctx.run_id, settings.algorithm, r.k, r.clusters_found, r.silhouette, r.cost, r.smallest_share,
              r.eligible, r is best, components, explained,
              *((checked.stability_mean, checked.stability_min, checked.holdout_ari) if checked and r is best else (None,) * 3),
              recovered if r is best else None)
             for r in results], SEGMENTATION_RUNS.schema))
        model_path = join_path(ctx.config.models_dir, "segmentation", ctx.run_id)
        model.write().save(model_path)
        ctx.after_commit(lambda: None, on_failure=lambda: remove(ctx.spark, model_path))
        sizes = {names[r[PREDICTION]]: r["customers"] for r in profiles.select(PREDICTION, "customers").collect()}
        ctx.metrics.update({"k": str(best.k), "silhouette": f"{best.silhouette:.4f}", "model_path": model_path,
                            "segments": json.dumps(sizes)})
        if components is not None:
            ctx.metrics.update({"pca_components": str(components), "explained_variance": f"{explained:.4f}"})
        if recovered is not None:
            ctx.metrics["archetype_ari"] = f"{recovered:.4f}"
        if checked:
            ctx.metrics.update({"stability_ari_mean": f"{checked.stability_mean:.4f}",
                                "stability_ari_min": f"{checked.stability_min:.4f}", "holdout_ari": f"{checked.holdout_ari:.4f}"})
    finally:
        prepared.unpersist()


def _pca_summary(prep_model: PipelineModel) -> tuple[int | None, float | None]:
    """Components kept and the variance share they retain, if the pipeline has PCA."""
    for stage in prep_model.stages:
        if isinstance(stage, PCAModel):
            return stage.getK(), float(sum(stage.explainedVariance.toArray()))
    return None, None


def _archetype_recovery(ctx: JobContext, predicted: DataFrame) -> float | None:
    """On generated data, how well the segments recover the planted archetypes (ARI)."""
    if not all(ctx.table_exists(t) for t in ("truth_records", "truth_persons", "identity_crosswalk")):
        return None
    planted = planted_archetypes(ctx.read("identity_crosswalk"), ctx.read("truth_records"), ctx.read("truth_persons"))
    return adjusted_rand_index(predicted.select("customer_id", PREDICTION).join(planted, "customer_id"), PREDICTION, "archetype")
