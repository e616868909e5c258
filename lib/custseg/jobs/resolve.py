"""Job `resolve`: source records into customers.

Writes match_pairs (every scored candidate pair, explained), review_queue, identity_crosswalk,
customer_master (golden records), blocking_diagnostics and resolution_metrics (with pairwise
and B-cubed quality when ground truth exists); saves the model as JSON for inspection and reuse.
"""

from __future__ import annotations

import logging

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.clean import address
from custseg.clean.dates import parse_mixed_date
from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.errors import InputDataError
from custseg.files import move, write_text
from custseg.resolve import FellegiSunterModel, golden_records, level_names, resolve
from custseg.resolve.decisions import labelled_quality, read_decisions
from custseg.resolve.evaluation import evaluate
from custseg.resolve.golden import GOLDEN_FIELDS
from custseg.resolve.identities import check_mapping, mapped_roles, prepare_identities, read_input
from custseg.resolve.outputs import crosswalk_rows, diagnostics_rows, match_pair_rows, review_rows
from custseg.runtime import JobContext, JobResult, run_job
from custseg.tables.gold import BLOCKING_DIAGNOSTICS, RESOLUTION_METRICS

log = logging.getLogger(__name__)


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "resolve", _resolve, parent_run_id)


def _resolve(ctx: JobContext) -> None:
    settings = ctx.config.resolve
    source_name = settings.input.table or settings.input.path or "input"
    frame = ctx.read(settings.input.table) if settings.input.table else read_input(ctx.spark, settings)
    check_mapping(frame, settings, source_name)
    identities = prepare_identities(frame, settings, source_name, settings.default_region or ctx.config.clean.default_region)
    identities = identities.persist(StorageLevel.MEMORY_AND_DISK)
    records = identities.count()
    duplicated = records - identities.select("node").distinct().count()
    if duplicated:
        raise InputDataError(f"resolve: {duplicated} record(s) of {source_name} share a (source, record_id) with another")
    if settings.input.path:
        ctx.count_input(f"file:{settings.input.path}", records)
    labels = read_decisions(ctx.spark, settings.decisions_file) if settings.decisions_file else None
    result = resolve(identities, mapped_roles(settings), settings, _load_model(ctx), labels)
    comparisons = result.model.comparisons
    ctx.write("match_pairs", match_pair_rows(result.scored, identities, comparisons, level_names(comparisons)))
    ctx.write("review_queue", review_rows(result.scored, identities, comparisons, mapped_roles(settings), level_names(comparisons)))
    members = identities.select("node", "source", "record_id").join(result.clusters, "node", "inner")
    crosswalk = ctx.write("identity_crosswalk", crosswalk_rows(members, result.scored))
    ctx.write("customer_master", _golden(frame, settings, crosswalk, source_name))
    metrics = _metrics(ctx, result, identities, records, labels)
    ctx.write(BLOCKING_DIAGNOSTICS.name, ctx.spark.createDataFrame(
        diagnostics_rows(ctx.run_id, result.diagnostics, result.scored), BLOCKING_DIAGNOSTICS.schema))
    ctx.write(RESOLUTION_METRICS.name, ctx.spark.createDataFrame(
        [(ctx.run_id, name, float(value)) for name, value in sorted(metrics.items())], RESOLUTION_METRICS.schema))
    _save_model(ctx, result.model)
    ctx.metrics.update({name: f"{value:.6g}" for name, value in metrics.items()})
    ctx.metrics["customers"] = str(ctx.rows_out["customer_master"])
    identities.unpersist()


def _metrics(ctx: JobContext, result, identities: DataFrame, records: int, labels: DataFrame | None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    decisions = {r.decision: r["count"] for r in result.scored.groupBy("decision").count().collect()}
    candidates = result.candidates.count()
    metrics: dict[str, float] = {
        "records": records, "prior": result.model.prior, "em_iterations": result.model.em_iterations,
        "candidate_pairs": candidates, "pairs_per_record": 2 * candidates / records if records else 0.0,
        "reduction_ratio": 1 - candidates / (records * (records - 1) / 2) if records > 1 else 0.0,
        **{f"pairs_{name}": float(count) for name, count in decisions.items()},
        "skipped_pairs": float(sum(d.skipped_pairs for d in result.diagnostics)),
    }
    if labels is not None:
        metrics.update(labelled_quality(result.scored, labels, ctx.config.resolve.match_threshold))
    if ctx.config.resolve.evaluate and ctx.table_exists("truth_records"):
        truth = ctx.read("truth_records").select("source", "record_id", F.col("person_id").alias("person"))
        labelled = identities.join(truth, ["source", "record_id"], "inner").select("node", "person")
        metrics.update(evaluate(labelled, result.clusters.select("node", "component"), result.candidates, records))
    return metrics


def _golden(frame: DataFrame, settings, crosswalk: DataFrame, source_name: str) -> DataFrame:  # type: ignore[no-untyped-def]
    """Golden records from the input's display values (not the matching keys)."""
    mapped = settings.columns
    role_of = {"phone_e164": "phone"}

    def value(field: str) -> F.Column:
        role = role_of.get(field, field)
        if role in mapped:
            return F.col(mapped[role])
        return F.col(field) if field in frame.columns else F.lit(None)

    country = value("country").cast("string")
    birth = value("birth_date")
    if "birth_date" in mapped and not isinstance(frame.schema[mapped["birth_date"]].dataType, (T.DateType, T.TimestampType)):
        birth, _ = parse_mixed_date(birth.cast("string"), address.iso_country(country, {}))
    members = frame.select(
        (F.col(mapped["source"]).cast("string") if "source" in mapped else F.lit(source_name)).alias("source"),
        F.col(mapped["record_id"]).cast("string").alias("record_id"),
        *[(F.to_date(birth) if f == "birth_date" else value(f).cast("string")).alias(f) for f in GOLDEN_FIELDS],
        (F.col("created_at") if "created_at" in frame.columns else F.lit(None)).cast("timestamp").alias("created_at"),
        (F.coalesce(F.col("updated_at"), F.col("created_at")) if "updated_at" in frame.columns and "created_at" in frame.columns
         else F.lit(None)).cast("timestamp").alias("recency"),
    ).join(crosswalk.select("source", "record_id", "customer_id"), ["source", "record_id"], "inner")
    golden = golden_records(members, settings.survivorship, settings.default_rule, settings.source_priority)
    # Inputs without creation or update times: the customer was first seen by this run.
    seen = F.coalesce(F.col("first_seen_at"), F.current_timestamp())
    return golden.withColumns({"first_seen_at": seen, "last_updated_at": F.coalesce(F.col("last_updated_at"), seen)})


def _load_model(ctx: JobContext) -> FellegiSunterModel | None:
    if ctx.config.resolve.model == "train":
        return None
    path = ctx.config.resolve.model
    try:
        text = ctx.spark.sparkContext.wholeTextFiles(path).first()[1]  # one small JSON file
    except Exception as exc:
        raise InputDataError(f"resolve.model: cannot read a saved model at {path}: {str(exc).splitlines()[0][:200]}") from exc
    return FellegiSunterModel.from_json(text)


def _save_model(ctx: JobContext, model: FellegiSunterModel) -> None:
    folder = join_path(ctx.config.models_dir, "resolution")
    staged, final = join_path(folder, f".{ctx.run_id}.json"), join_path(folder, f"{ctx.run_id}.json")
    write_text(ctx.spark, staged, model.to_json())

    def publish() -> None:
        move(ctx.spark, staged, final)
        write_text(ctx.spark, join_path(folder, "latest.json"), model.to_json())

    ctx.after_commit(publish)
    ctx.metrics["model_path"] = final

