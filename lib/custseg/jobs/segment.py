"""Job `segment`: fit the segmentation pipeline, choose k, write segments, profiles and the model."""

from __future__ import annotations

import json
import time

from pyspark import StorageLevel
from pyspark.ml import PipelineModel
from pyspark.ml.feature import PCAModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config import Config
from custseg.config.model import SegmentSettings
from custseg.config.resolved import join_path
from custseg.files import remove
from custseg.ml.stages import SEGMENT_LABELS
from custseg.runtime import JobContext, JobResult, run_job
from custseg.segment import PREDICTION, choose, evaluate_k_range, full_model, preprocessing
from custseg.segment.labels import LabelledSegments, label_segments
from custseg.segment.selection import draw_sample, final_model, grouping_silhouette, sample_silhouette
from custseg.segment.validation import adjusted_rand_index, planted_archetypes, validate
from custseg.tables.gold import SEGMENTATION_RUNS


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "segment", _segment, parent_run_id)


def _segment(ctx: JobContext) -> None:
    settings = ctx.config.segment
    features = ctx.read("customer_features")
    prep_model = preprocessing(settings).fit(features)
    prepared = prep_model.transform(features).persist(StorageLevel.MEMORY_AND_DISK)
    frames = [prepared]
    try:
        sample = draw_sample(prepared, settings)
        results = evaluate_k_range(sample, settings)
        best = choose(results)
        chosen = final_model(prepared, sample, settings, best)
        centres = chosen.clusterCenters()
        silhouette = best.silhouette if sample.complete else sample_silhouette(sample.matrix, centres)
        started = time.perf_counter()
        checked = validate(sample.matrix, settings, best.k, centres) if settings.bootstrap_samples else None
        validation_seconds = time.perf_counter() - started
        predicted = chosen.transform(prepared).persist(StorageLevel.MEMORY_AND_DISK)
        frames.append(predicted)
        recovered, planted_silhouette = _archetype_recovery(ctx, predicted, settings)
        components, explained = _pca_summary(prep_model)
        previous = ctx.read_optional("segment_profiles")
        segments = label_segments(predicted, centres, sample.matrix, settings, ctx.config.features, previous,
                                  ctx.run_id)
        model = full_model(prep_model, chosen, segments.labeler)
        labelled = segments.labeler.transform(predicted)
        ctx.write("segment_profiles", _profile_rows(ctx, segments))
        ctx.write("customer_segments", labelled.select(
            "customer_id", "as_of_date", *SEGMENT_LABELS, "lifecycle_stage", "rfm_segment", "age_band", "region",
            F.lit(ctx.run_id).alias("model_run_id"),
        ))
        stability = (checked.stability_mean, checked.stability_min, checked.holdout_ari) if checked else (None,) * 3
        ctx.write_rows(SEGMENTATION_RUNS.name,
            [(ctx.run_id, settings.algorithm, r.k, r.clusters_found, r.silhouette, r.cost, r.smallest_share,
              r.eligible, r is best, components, explained,
              *(stability if r is best else (None,) * 3),
              recovered if r is best else None,
              *((segments.parent_count, segments.parent_silhouette) if r is best else (None, None)), r.seconds)
             for r in results])
        model_path = join_path(ctx.config.models_dir, "segmentation", ctx.run_id)
        model.write().save(model_path)
        ctx.after_commit(lambda: None, on_failure=lambda: remove(ctx.spark, model_path))
        labels = segments.labeler.segment_labels()
        sizes = {labels[r[PREDICTION]]["segment_name"]: r["customers"]
                 for r in segments.profiles.select(PREDICTION, "customers").collect()}
        kept = sum(1 for d in segments.carried.distances.values() if d is not None)
        ctx.metrics.update({"k": str(best.k), "silhouette": f"{silhouette:.4f}", "model_path": model_path,
                            "segments": json.dumps(sizes), "parent_segments": str(segments.parent_count),
                            "segment_ids_carried_over": str(kept), "segment_ids_new": str(len(labels) - kept),
                            "k_search_seconds": f"{sum(r.seconds for r in results):.1f}",
                            "k_search_customers": str(len(sample.matrix)),
                            "validation_seconds": f"{validation_seconds:.1f}"})
        if components is not None:
            ctx.metrics.update({"pca_components": str(components), "explained_variance": f"{explained:.4f}"})
        if recovered is not None:
            ctx.metrics["archetype_ari"] = f"{recovered:.4f}"
        if planted_silhouette is not None:
            ctx.metrics["archetype_silhouette"] = f"{planted_silhouette:.4f}"
        if checked:
            ctx.metrics.update({"stability_ari_mean": f"{checked.stability_mean:.4f}",
                                "stability_ari_min": f"{checked.stability_min:.4f}",
                                "holdout_ari": f"{checked.holdout_ari:.4f}"})
    finally:
        for frame in frames:
            frame.unpersist()


def _profile_rows(ctx: JobContext, segments: LabelledSegments) -> DataFrame:
    """segment_profiles rows: the per-cluster profile with its labels, centre and id bookkeeping."""
    labels = segments.labeler.segment_labels()
    extra = ctx.spark.createDataFrame(
        [(cluster, label["segment_id"], label["segment_name"], label["parent_segment_id"], label["parent_segment_name"],
          segments.centres[cluster], segments.carried.distances[cluster], segments.carried.next_segment_id)
         for cluster, label in sorted(labels.items())],
        f"{PREDICTION} int, segment_id int, segment_name string, parent_segment_id int, parent_segment_name string, "
        "centroid map<string,double>, matched_distance double, next_segment_id int")
    return segments.profiles.join(extra, PREDICTION)


def _pca_summary(prep_model: PipelineModel) -> tuple[int | None, float | None]:
    """Components kept and the variance share they retain, if the pipeline has PCA."""
    for stage in prep_model.stages:
        if isinstance(stage, PCAModel):
            return stage.getK(), float(sum(stage.explainedVariance.toArray()))
    return None, None


def _archetype_recovery(ctx: JobContext, predicted: DataFrame,
                        settings: SegmentSettings) -> tuple[float | None, float | None]:
    """On generated data, how well the segments recover the planted archetypes (ARI), and the
    silhouette the planted grouping itself has in the model's space: when it is below the
    chosen k's, choosing k by silhouette cannot land on the archetypes."""
    if not all(ctx.table_exists(t) for t in ("truth_records", "truth_persons", "identity_crosswalk")):
        return None, None
    planted = planted_archetypes(ctx.read("identity_crosswalk"), ctx.read("truth_records"), ctx.read("truth_persons"))
    joined = predicted.join(planted, "customer_id")
    return adjusted_rand_index(joined, PREDICTION, "archetype"), grouping_silhouette(joined, settings, "archetype")
