"""Job `assign`: segment new and changed customers with a saved model, without refitting.

The model is the one behind the current segment_profiles, or the segment run named by
``--model-run`` (segment.model_run). A customer is scored when it is new, when its
customer_features row differs from the row its current segment was computed from, or when
its segment came from another model; everyone else keeps their row untouched. Customers gone
from customer_features leave customer_segments. The saved PipelineModel carries the
preprocessing, the clusterer and the segment labels, so a customer scored here gets exactly
the segment the segment run would give. Once `propensity` has run, the customers scored here
get fresh propensity scores from the models their segment chose (custseg.act.rescoring).
"""

from __future__ import annotations

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.act.rescoring import refresh_propensity_scores
from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.errors import InputDataError
from custseg.files import exists
from custseg.memory import stored
from custseg.ml.stages import SEGMENT_LABELS
from custseg.runtime import JobContext, JobResult, run_job
from custseg.tables.gold import CUSTOMER_SEGMENTS


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "assign", _assign, parent_run_id)


def _assign(ctx: JobContext) -> None:
    features = ctx.read("customer_features")
    current = ctx.read_optional("customer_segments")
    run_id = ctx.config.segment.model_run or _latest_model_run(ctx)
    path = join_path(ctx.config.models_dir, "segmentation", run_id)
    if not exists(ctx.spark, path):
        raise InputDataError(f"assign: no segmentation model of run {run_id!r} at {path}; "
                             "name a run listed in segmentation_runs, or run `custseg segment`")
    model = PipelineModel.load(path)

    ids = features.select("customer_id")
    if current is None:
        rescore, kept = ids, None
    else:
        basis = _features_behind(ctx, current)
        changed = _changed_customers(features, basis) if basis is not None else ids
        other_model = current.filter(F.col("model_run_id") != run_id).select("customer_id")
        new = ids.join(current.select("customer_id"), "customer_id", "left_anti")
        rescore = (changed.unionByName(other_model).unionByName(new).distinct().join(ids, "customer_id", "left_semi")
                   .transform(stored))  # read by the scoring, the counts and the propensity refresh
        kept = current.join(ids, "customer_id", "left_semi").join(rescore, "customer_id", "left_anti")
    scored = model.transform(features.join(rescore, "customer_id", "left_semi")).select(
        *[F.col(c) for c in ("customer_id", "as_of_date", *SEGMENT_LABELS,
                             "lifecycle_stage", "rfm_segment", "age_band", "region")],
        F.lit(run_id).alias("model_run_id"))
    result = scored if kept is None else kept.select(*CUSTOMER_SEGMENTS.schema.fieldNames()).unionByName(scored)
    ctx.write("customer_segments", result)
    refresh_propensity_scores(ctx, rescore, model, run_id)
    scored_count = rescore.count()
    removed = 0 if current is None else current.join(ids, "customer_id", "left_anti").count()
    ctx.metrics.update({"model_run_id": run_id, "customers_scored": str(scored_count),
                        "customers_kept": str(ctx.rows_out["customer_segments"] - scored_count),
                        "customers_removed": str(removed)})


def _latest_model_run(ctx: JobContext) -> str:
    if not ctx.table_exists("segment_profiles"):
        raise InputDataError("assign: there is no segmentation model yet; run `custseg segment` first")
    first = ctx.read("segment_profiles").select("model_run_id").first()
    if first is None:
        raise InputDataError("assign: segment_profiles is empty; run `custseg segment` first")
    return str(first.model_run_id)


def _features_behind(ctx: JobContext, current: DataFrame) -> DataFrame | None:
    """customer_features as it was when the current customer_segments version was written."""
    version = ctx.input_versions["customer_segments"]
    runs = ctx.read("job_runs").filter(
        (F.col("status") == "succeeded") & (F.col("output_versions")["customer_segments"] == version))
    found = runs.select(F.col("input_versions")["customer_features"].alias("features_version")).first()
    if found is None or found.features_version is None:
        return None  # written without customer_features (e.g. by hand): score everyone
    return ctx.read("customer_features", version=int(found.features_version))


def _changed_customers(features: DataFrame, basis: DataFrame) -> DataFrame:
    """Customers whose customer_features row is not identical to the one in ``basis``."""
    comparable = [f.name for f in features.schema.fields
                  if not isinstance(f.dataType, T.MapType) and f.name in basis.columns]  # set operations reject maps
    return features.select(*comparable).exceptAll(basis.select(*comparable)).select("customer_id").distinct()
