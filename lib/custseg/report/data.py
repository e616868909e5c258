"""What the segment report shows, gathered from the tables through the job's context.

Every table is read with ``JobContext.read``, so the run log records the version of each input.
Each figure is a Spark aggregate whose result is bounded by the number of sources, reasons,
tables, segments or k values: only those small results reach the driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.errors import InputDataError
from custseg.report.act import ActResults, gather_act
from custseg.runtime import JobContext
from custseg.segment.migration import migration_matrix

REJECT_REASONS_SHOWN = 15
AUDIT_NULLS_SHOWN = 12
RESOLUTION_FIGURES = ("records", "customers", "candidate_pairs", "pairs_match", "pairs_review", "pairwise_precision",
                      "pairwise_recall", "pairwise_f1", "bcubed_f1", "blocking_pair_completeness", "reduction_ratio")


@dataclass
class Segment:
    segment_id: int
    name: str
    parent_name: str
    customers: int
    share: float
    lifecycle: str
    lifts: dict[str, float]
    means: dict[str, float | None]


@dataclass
class ReportData:
    """Everything the template needs; plain Python values only."""

    segment_run_id: str
    segments_version: int
    segments: list[Segment]
    k_search: list[dict[str, Any]]
    accounting: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[tuple[str, str, int]] = field(default_factory=list)
    audit_tables: list[dict[str, Any]] = field(default_factory=list)
    audit_nulls: list[tuple[str, str, float]] = field(default_factory=list)
    resolution: dict[str, float] = field(default_factory=dict)
    cluster_sizes: list[tuple[int, int]] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    migration: list[dict[str, Any]] = field(default_factory=list)
    migration_from: int | None = None
    act: ActResults = field(default_factory=ActResults)


def gather(ctx: JobContext) -> ReportData:
    """Read the latest outputs of every stage into a ``ReportData``.

    Raises:
        InputDataError: when no segment run exists yet (``customer_segments`` or ``segment_profiles`` missing).
    """
    for name in ("segment_profiles", "customer_segments", "segmentation_runs"):
        if not ctx.table_exists(name):
            raise InputDataError(f"report: table {name!r} does not exist yet; run `custseg segment` first")
    profiles = ctx.read("segment_profiles").collect()  # one row per segment
    if not profiles:
        raise InputDataError("report: table 'segment_profiles' is empty; run `custseg segment` first")
    segment_run = profiles[0]["model_run_id"]
    latest = _latest_runs(ctx)
    data = ReportData(segment_run, 0, [_segment(r) for r in sorted(profiles, key=lambda r: -r["customers"])],
                      _k_search(ctx.read("segmentation_runs"), segment_run))
    ctx.read("customer_segments")
    data.segments_version = ctx.input_versions["customer_segments"]
    if "ingest" in latest:
        data.accounting, data.rejects = _ingest(ctx, latest["ingest"])
    if "audit" in latest and ctx.table_exists("data_audit"):
        data.audit_tables, data.audit_nulls = _audit(ctx.read("data_audit"), latest["audit"])
    if "resolve" in latest:
        data.resolution, data.cluster_sizes = _resolution(ctx, latest["resolve"])
    if ctx.table_exists("validation_results"):
        data.validation = _validation(ctx.read("validation_results"), list(latest.values()))
    data.migration_from, data.migration = _migration(ctx, data.segments_version)
    data.act = gather_act(ctx, latest)
    return data


def _latest_runs(ctx: JobContext) -> dict[str, str]:
    """The latest succeeded run id of each job, from the run log."""
    if not ctx.table_exists("job_runs"):
        return {}
    rows = (ctx.read("job_runs").filter(F.col("status") == "succeeded").groupBy("job")
            .agg(F.max_by("run_id", "ended_at").alias("run_id")).collect())  # one row per job
    return {r["job"]: r["run_id"] for r in rows}


def _segment(row: Any) -> Segment:
    stats = row["feature_stats"]
    return Segment(int(row["segment_id"]), row["segment_name"], row["parent_segment_name"], int(row["customers"]),
                   float(row["share"]), row["dominant_lifecycle_stage"],
                   {s["feature"]: s["lift"] for s in stats if s["lift"] is not None},
                   {s["feature"]: s["mean"] for s in stats})


def _k_search(runs: DataFrame, run_id: str) -> list[dict[str, Any]]:
    rows = runs.filter(F.col("run_id") == run_id).orderBy("k").collect()  # one row per k tried
    return [r.asDict() for r in rows]


def _ingest(ctx: JobContext, run_id: str) -> tuple[list[dict[str, Any]], list[tuple[str, str, int]]]:
    accounting: list[dict[str, Any]] = []
    if ctx.table_exists("ingest_accounting"):
        accounting = [r.asDict() for r in ctx.read("ingest_accounting").filter(F.col("run_id") == run_id)
                      .orderBy("source").collect()]  # one row per source
    rejects: list[tuple[str, str, int]] = []
    if ctx.table_exists("rejects"):
        counted = (ctx.read("rejects").filter(F.col("run_id") == run_id).groupBy("source", "reason").count()
                   .orderBy(F.col("count").desc(), "source", "reason").limit(REJECT_REASONS_SHOWN).collect())
        rejects = [(r["source"], r["reason"], int(r["count"])) for r in counted]
    return accounting, rejects


def _audit(audit: DataFrame, run_id: str) -> tuple[list[dict[str, Any]], list[tuple[str, str, float]]]:
    latest = audit.filter(F.col("run_id") == run_id)
    tables = [r.asDict() for r in latest.filter(F.col("column_name") == "*").orderBy("table_name")
              .select("table_name", "table_version", "rows", "duplicate_key_rows", "rule_violations").collect()]
    nulls = (latest.filter((F.col("column_name") != "*") & (F.col("null_share") > 0))
             .orderBy(F.col("null_share").desc(), "table_name", "column_name").limit(AUDIT_NULLS_SHOWN).collect())
    return tables, [(r["table_name"], r["column_name"], float(r["null_share"])) for r in nulls]


def _resolution(ctx: JobContext, run_id: str) -> tuple[dict[str, float], list[tuple[int, int]]]:
    figures: dict[str, float] = {}
    if ctx.table_exists("resolution_metrics"):
        rows = ctx.read("resolution_metrics").filter(F.col("run_id") == run_id).collect()  # a few dozen figures
        figures = {r["metric"]: float(r["value"]) for r in rows}
    sizes: list[tuple[int, int]] = []
    if ctx.table_exists("identity_crosswalk"):
        per_customer = ctx.read("identity_crosswalk").groupBy("customer_id").agg(F.max("cluster_size").alias("size"))
        counted = per_customer.groupBy("size").count().orderBy("size").collect()  # one row per cluster size
        sizes = [(int(r["size"]), int(r["count"])) for r in counted]
    return figures, sizes


def _validation(results: DataFrame, run_ids: list[str]) -> list[dict[str, Any]]:
    grouped = (results.filter(F.col("run_id").isin(run_ids)).groupBy("job", "table_name").agg(
        F.count(F.lit(1)).alias("checks"), F.count_if("passed").alias("passed"),
        F.count_if(~F.col("passed") & (F.col("severity") == "warn")).alias("warnings"),
        F.count_if(~F.col("passed") & (F.col("severity") == "error")).alias("errors"),
    ).orderBy("job", "table_name").collect())  # one row per table checked
    return [r.asDict() for r in grouped]


def _migration(ctx: JobContext, version: int) -> tuple[int | None, list[dict[str, Any]]]:
    """Moves between the previous version of customer_segments and the one reported on."""
    if version == 0:
        return None, []
    before = ctx.read("customer_segments", version=version - 1)
    id_map = ctx.read_optional("customer_id_map")
    rows = migration_matrix(before, ctx.read("customer_segments"), id_map).collect()  # segments x segments
    ctx.metrics["migration_from_version"] = str(version - 1)
    return version - 1, [r.asDict() for r in rows]
