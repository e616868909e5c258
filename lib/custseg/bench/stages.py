"""`custseg bench --scale N` (``make bench SCALE=N``): run the pipeline at N customers and
record per-stage wall time, rows per second and peak memory.

Timings on shared machines are noisy, so each run also times a fixed reference Spark job
in the same session; `ratio` (stage seconds / reference seconds) is the figure to compare
between runs. Peak memory is the resident set of this process and its children (the JVM),
sampled from /proc.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import __version__, files, jobs
from custseg.bench.anchors import pipeline_anchor, pipeline_anchor_table, resolve_anchor, resolve_anchor_table
from custseg.bench.pipeline_report import markdown_table, write_report
from custseg.bench.spark_activity import activity_since, spark_activity
from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.model import ResolveInput
from custseg.errors import CustsegError
from custseg.memory.probe import ProcessPeaks, heap_peaks, reset_heap_peaks
from custseg.resolve.evaluation import evaluate
from custseg.resolve.identities import record_node, with_pair_nodes
from custseg.runtime import table_store
from custseg.session import build_spark_session

REFERENCE_ROWS = 100_000_000
REFERENCE_REPEATS = 3


def reference_seconds(spark: SparkSession) -> float:
    """Median time of a fixed CPU-bound Spark job, timed in the same session as the stages."""
    timings = []
    for _ in range(REFERENCE_REPEATS):
        started = time.perf_counter()
        spark.range(REFERENCE_ROWS).select((F.col("id") % 97).alias("k"), F.sqrt("id").alias("v")).groupBy("k").agg(
            F.sum("v")).collect()
        timings.append(time.perf_counter() - started)
    return sorted(timings)[len(timings) // 2]


def main(config: Config, scale: int, output_dir: str, stages: list[str] | None = None) -> int:
    """Time ``stages`` (default: the whole pipeline) at ``scale`` customers. A subset runs on
    the tables an earlier bench at the same scale left, so a late stage can be re-timed
    without generating, ingesting and resolving again."""
    names = pipeline_stages(stages)
    root = Path(config.root_dir) / f"bench-{scale}"
    config = config.with_overrides(
        generate=dataclasses.replace(config.generate, customers=scale),
        storage=dataclasses.replace(config.storage, root=str(root)),
        # Spark forgets all but the last 1,000 jobs; a stage's count needs all of them (a few MB of heap).
        spark=dataclasses.replace(config.spark, conf={"spark.ui.retainedJobs": "100000", **config.spark.conf}),
    )
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    spark = build_spark_session(config, app_name=f"custseg-bench-{scale}")
    try:
        reference_seconds(spark)  # warm-up: JIT and executor start
        reference = reference_seconds(spark)
        timed: list[dict[str, Any]] = []
        anchors: dict[str, Any] = {}
        report: dict[str, Any] = {}
        for name in names:
            timed.append(_run_stage(spark, config, name, reference))
            # Right after its stage, on the tables it read: the same data, the same machine.
            anchors.update(pipeline_anchor(spark, config, timed[-1]))
            _count_raw_records(timed)
            report = {
                "scale": scale, "started": started, "custseg": __version__, "master": config.spark.master,
                "cpus": os.cpu_count(), "python": platform.python_version(),
                "reference_seconds": round(reference, 3), "stages": timed,
                "total_seconds": round(sum(s["seconds"] for s in timed), 1), "anchors": anchors,
            }
            # Saved after every stage: a run at scale that is stopped or fails keeps what it measured.
            write_report(report, Path(output_dir), bench_stages())
    finally:
        spark.stop()
    print(markdown_table([report]))
    if anchors:
        print(pipeline_anchor_table([report]))
    return 0


# The jobs outside run_all that act on segments are timed right after segment.
ACT_STAGES = ("propensity", "recommend")


def bench_stages() -> list[str]:
    """Every stage the bench times, in order: the pipeline with the act stages after segment."""
    at = jobs.PIPELINE.index("segment") + 1
    return [*jobs.PIPELINE[:at], *ACT_STAGES, *jobs.PIPELINE[at:]]


def pipeline_stages(requested: list[str] | None) -> list[str]:
    """The requested stages in pipeline order (all of them when none are named)."""
    known = bench_stages()
    if not requested:
        return known
    unknown = sorted(set(requested) - set(known))
    if unknown:
        raise CustsegError(f"bench: unknown stage(s) {', '.join(unknown)}; stages are {', '.join(known)}")
    return [name for name in known if name in requested]


def _run_stage(spark: SparkSession, config: Config, name: str, reference: float) -> dict[str, Any]:
    reset_heap_peaks(spark)
    before = spark_activity(spark)
    with ProcessPeaks() as processes:
        started = time.perf_counter()
        (result,) = jobs.run(name, spark, config)
        seconds = time.perf_counter() - started
    # A table also read at an earlier version (time travel, ``table@version``) is not more input.
    rows_in = sum(rows for name, rows in result.rows_in.items() if "@" not in name)
    rows_out = sum(result.rows_out.values())
    return {
        "stage": name, "seconds": round(seconds, 2), "ratio": round(seconds / reference, 2),
        "rows_in": rows_in, "rows_out": rows_out,
        "rows_per_second": round(max(rows_in, rows_out) / seconds) if seconds else None,
        "peak_rss_mb": round(processes.peaks.total / 2**20), "metrics": result.metrics,
        "peak_jvm_rss_mb": round(processes.peaks.jvm / 2**20),
        "peak_python_workers_rss_mb": round(processes.peaks.python_workers / 2**20),
        **heap_peaks(spark),
        **activity_since(spark, before, result.run_id),
        "raw_inputs": {k: v for k, v in result.rows_in.items() if k.startswith("raw:")},
    }


RECORDS_PER_CUSTOMER = 2.145  # generated CRM records plus web accounts per person (default settings)


def resolve_main(config: Config, sizes: list[int], output_dir: str, reuse_data: bool = False) -> int:
    """Resolve at each size (source records): a full run on 99% of the records, then an
    incremental run adding the last 1%. Time, pairs, quality and peak memory of both.
    Each size's figures are saved as soon as it finishes."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    spark = build_spark_session(config, app_name="custseg-bench-resolve")  # one session: restarts leak accumulators
    session_seconds = time.perf_counter() - started
    try:
        reference_seconds(spark)
        reference = reference_seconds(spark)
        for size in sizes:
            report = _bench_resolve_size(spark, config, size, reference, reuse_data)
            report["session_start_seconds"] = round(session_seconds, 2)
            print(f"resolve at {size:,} records, full run by phase: seconds (Spark jobs); "
                  f"the JVM and session started in {session_seconds:.1f}s")
            for phase, (seconds, launched) in report["phases"].items():
                print(f"  {phase:<45} {seconds:>8.2f}s ({launched if launched is not None else '-'})")
            stamp = report["started"].replace(":", "").replace("-", "")
            (out / f"resolve-{size}-{stamp}.json").write_text(json.dumps([report], indent=2) + "\n")
            _write_resolve_history(out)
            print(resolve_table([report]))
            print(resolve_anchor_table([report]))
    finally:
        spark.stop()
    return 0


def _write_resolve_history(out: Path) -> None:
    history = [row for p in sorted(out.glob("resolve-*.json")) for row in json.loads(p.read_text())]
    history.sort(key=lambda row: (row["started"], row["records"]))
    (out / "RESOLVE.md").write_text(
        "# Identity resolution benchmarks\n\nGenerated by `make bench-resolve` from the JSON files in this folder. "
        "`ratio` is resolve seconds divided by a reference Spark job timed in the same run. `seconds` is a full run "
        "on 99% of the records; `incremental s` is `resolve --incremental` adding the remaining 1% to it, and "
        "`share` its time as a share of the full run's, `of which` the seconds it spent reading, matching and carrying "
        "ids over, then staging the output tables. Quality is measured on the tables each run wrote, after it "
        "and untimed (`F1 after` is the pairwise F1 after the incremental run); the rows without it timed the full run "
        "with that measurement inside it.\n\n" + resolve_table(history) + "\n\n"
        "## Against Splink on DuckDB\n\nThe same run's single-machine anchor: Splink 5 on DuckDB (`make splink-venv`, "
        "`bench/splink_resolve.py`) resolves the very records custseg's full run read, with comparisons and blocking "
        "rules for the same roles, u from random pairs, m by EM on two rules, every candidate pair scored once and "
        "the records clustered at `resolve.match_threshold`. Both tools' clusters are scored against the ground truth "
        "by the same function (pairwise precision, recall and F1 over record pairs in one cluster). `custseg / Splink` "
        "is custseg's full-run seconds over Splink's (from reading the input to writing its clusters); peak RSS is "
        "custseg's process tree (driver, JVM, workers) and Splink's process. Empty anchor columns: Splink's "
        "virtualenv was missing.\n\n" + resolve_anchor_table(history) + "\n")


def _bench_resolve_size(spark: SparkSession, config: Config, size: int, reference: float,
                        reuse_data: bool) -> dict[str, Any]:
    customers = max(100, round(size / RECORDS_PER_CUSTOMER))
    root = Path(config.root_dir) / f"bench-resolve-{size}"
    sized = config.with_overrides(
        generate=dataclasses.replace(config.generate, customers=customers),
        storage=dataclasses.replace(config.storage, root=str(root)),
    )
    spark.sparkContext.setCheckpointDir(sized.checkpoint_dir)
    store, catalog = table_store(spark, sized), Catalog(sized)
    if not (reuse_data and store.exists(catalog.path("customer_records"))):
        for stage in ("generate", "ingest", "clean"):
            jobs.run(stage, spark, sized)
    records = store.read(catalog.path("customer_records"))
    late = F.pmod(F.xxhash64(F.lit("late"), "source", "record_id"), F.lit(100)) == 0
    base_path, all_path = str(root / "bench-input" / "base"), str(root / "bench-input" / "all")
    records.filter(~late).write.mode("overwrite").parquet(base_path)
    records.write.mode("overwrite").parquet(all_path)
    # The runs write into a root of their own, emptied first: the full run is a first run (no
    # ids carried over from an earlier bench), and the incremental run follows it alone.
    run_root = str(root / "bench-run")
    files.remove(spark, run_root)
    outputs = sized.with_overrides(storage=dataclasses.replace(sized.storage, root=run_root))

    def resolving(path: str, **changes: Any) -> Config:
        source = ResolveInput(table=None, path=path, format="parquet", options={})
        return outputs.with_overrides(resolve=dataclasses.replace(outputs.resolve, input=source, **changes))

    # Neither timed run evaluates: scoring against the ground truth is the bench's own work
    # (a real run has no truth), so it stays out of the timings.
    full = _run_stage(spark, resolving(base_path, evaluate=False), "resolve", reference)
    quality = resolve_quality(spark, outputs, truth=sized)
    anchor = resolve_anchor(spark, outputs, sized, base_path, full, root / "bench-splink")
    incremental_config = resolving(all_path, model=full["metrics"]["model_path"], incremental=True, evaluate=False)
    incremental = _run_stage(spark, incremental_config, "resolve", reference)
    after = resolve_quality(spark, outputs, truth=sized)
    metrics = full.pop("metrics")
    added = incremental["metrics"]
    return {
        "records": int(float(metrics["records"])), "customers_generated": customers,
        **{k: full[k] for k in ("seconds", "ratio", "rows_in", "rows_out", "rows_per_second", "peak_rss_mb")},
        **{k: quality[k] for k in RESOLVE_FIGURES},
        **{f"incremental_{k}": after[k] for k in ("pairwise_f1", "blocking_pair_completeness")},
        "incremental_seconds": incremental["seconds"], "incremental_ratio": incremental["ratio"],
        "incremental_new_records": int(added.get("incremental_new", 0)),
        "incremental_touched_records": int(added.get("incremental_touched", 0)),
        "incremental_rebuilt_records": int(added.get("incremental_rebuilt", 0)),
        "incremental_share": round(incremental["seconds"] / full["seconds"], 3),
        **{f"incremental_{part}_seconds": float(added[f"{part}_seconds"]) for part in ("matching", "writing")},
        "reference_seconds": round(reference, 3), "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "phases": json.loads(metrics.get("phases", "{}")), "anchor": anchor,
    }


def resolve_quality(spark: SparkSession, config: Config, truth: Config | None = None) -> dict[str, float]:
    """Pairwise and B-cubed scores, completeness and pairs per record of the resolve tables
    as written (crosswalk clusters, match_pairs candidates) against truth_records (of the
    configuration ``truth``, by default ``config``)."""
    def read(name: str) -> DataFrame:
        owner = (truth or config) if name == "truth_records" else config
        return table_store(spark, owner).read(Catalog(owner).path(name))

    crosswalk = read("identity_crosswalk").select(record_node(F.col("source"), F.col("record_id")).alias("node"),
                                                  F.col("cluster_node").alias("component"))
    people = read("truth_records").select(record_node(F.col("source"), F.col("record_id")).alias("node"),
                                          F.col("person_id").alias("person"))
    proposed = read("match_pairs").filter(F.col("blocked_by") != "decision")
    candidates = with_pair_nodes(proposed).select("node_l", "node_r")
    labelled = people.join(crosswalk.select("node"), "node")
    return evaluate(labelled, crosswalk, candidates, crosswalk.count())


RESOLVE_FIGURES = ("candidate_pairs", "pairs_per_record", "reduction_ratio", "pairwise_f1", "pairwise_precision",
                   "pairwise_recall", "bcubed_f1", "blocking_pair_completeness")


def resolve_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| run | records | seconds | ratio | candidate pairs | pairs/record | reduction ratio | pairwise F1 "
             "| completeness | peak RSS MB | +1% records | incremental s | share | F1 after "
             "| of which matching / writing s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        added = (f"{r['incremental_new_records']:,} | {r['incremental_seconds']} | {r['incremental_share']:.3f}"
                 if "incremental_seconds" in r else "- | - | -")
        added += f" | {r['incremental_pairwise_f1']:.4f}" if "incremental_pairwise_f1" in r else " | -"
        added += (f" | {r['incremental_matching_seconds']} / {r['incremental_writing_seconds']}"
                  if "incremental_writing_seconds" in r else " | -")
        lines.append(f"| {r['started']} | {r['records']:,} | {r['seconds']} | {r['ratio']} "
                     f"| {int(r.get('candidate_pairs', 0)):,} | {r.get('pairs_per_record', 0):.2f} "
                     f"| {r.get('reduction_ratio', 0):.6f} | {r.get('pairwise_f1', 0):.4f} "
                     f"| {r.get('blocking_pair_completeness', 0):.4f} | {r['peak_rss_mb']:,} | {added} |")
    return "\n".join(lines)


def _count_raw_records(stages: list[dict[str, Any]]) -> None:
    """Generate writes raw files that only ingest counts: credit them to generate's output. Each
    stage's raw inputs are removed once read, so calling this after every stage counts them once."""
    by_name = {s["stage"]: s for s in stages}
    raw_inputs = {s["stage"]: s.pop("raw_inputs", {}) for s in stages}
    if "generate" in by_name and raw_inputs.get("ingest"):
        generate = by_name["generate"]
        generate["rows_out"] += sum(raw_inputs["ingest"].values())
        generate["rows_per_second"] = round(generate["rows_out"] / generate["seconds"])
