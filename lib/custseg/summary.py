"""The short report printed after a run: rows per stage, row accounting, segments, tables and
their versions, and where to look next. Built only from the jobs' results (no table scans)."""

from __future__ import annotations

import json

from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.runtime import JobResult


def render(spark: SparkSession, config: Config, results: list[JobResult]) -> str:
    total = sum(r.duration_seconds for r in results)
    jobs = ", ".join(r.job for r in results)
    lines = [f"custseg: {len(results)} job(s) succeeded in {_duration(total)} "
             f"({jobs}; master {spark.sparkContext.master})", ""]
    lines += _stages(results)
    lines += _accounting(results)
    lines += _resolution(results)
    lines += _segments(results)
    lines += _quality(results)
    lines += _stream(results)
    lines += _tables(config, results)
    report = next((r.metrics["report"] for r in reversed(results) if r.job == "report" and "report" in r.metrics), None)
    lines += [
        "Where to look next",
        "  custseg tables                      every table with its version and rows",
        "  custseg history customer_segments   versions of a table and the runs that wrote them",
        "  custseg history job_runs            the run log",
        f"  {config.warehouse_dir}   Delta tables (Spark, deltalake, DuckDB read them)",
        *([f"  {report}", "      the segment report: data in, resolution, segments with charts, validation, migration"]
          if report else []),
        "  make notebook                       Jupyter on 127.0.0.1 with notebooks/ on these tables "
        "(audit, resolution, segments, migration; act and realtime once those jobs ran)",
    ]
    return "\n".join(lines)


def _stages(results: list[JobResult]) -> list[str]:
    lines = ["Rows per stage"]
    for result in results:
        outputs = ", ".join(f"{name} {rows:,}" for name, rows in result.rows_out.items() if name != "job_runs")
        lines.append(f"  {result.job:<9} {_duration(result.duration_seconds):>7}  -> {outputs or '(no table output)'}")
    return lines + [""]


def _accounting(results: list[JobResult]) -> list[str]:
    rows = [(key.split(".")[0], value) for r in results if r.job == "ingest" for key, value in r.metrics.items()
            if key.endswith(".read_accepted_rejected")]
    if not rows:
        return []
    lines = ["Row accounting per source (read = accepted + rejected)"]
    for source, value in rows:
        read, accepted, rejected = (int(x) for x in value.split("/"))
        share = 100 * rejected / read if read else 0.0
        lines.append(f"  {source:<15} {read:>11,} = {accepted:>11,} + {rejected:>7,} rejected ({share:.2f}%)")
    return lines + ["  rejected rows, with file, line and reason: table `rejects`", ""]


def _resolution(results: list[JobResult]) -> list[str]:
    resolve = next((r for r in reversed(results) if r.job == "resolve"), None)
    if resolve is None or "records" not in resolve.metrics:
        return []
    m = resolve.metrics
    lines = [
        "Identity resolution",
        f"  {int(float(m['records'])):,} records -> {int(m['customers']):,} customers; "
        f"candidate pairs {int(float(m.get('candidate_pairs', 0))):,} "
        f"(accepted {int(float(m.get('pairs_match', 0))):,}, to review {int(float(m.get('pairs_review', 0))):,})",
    ]
    if "pairwise_f1" in m:
        lines.append(f"  against ground truth: pairwise F1 {float(m['pairwise_f1']):.4f} (precision "
                     f"{float(m['pairwise_precision']):.4f}, recall {float(m['pairwise_recall']):.4f}), B-cubed F1 "
                     f"{float(m['bcubed_f1']):.4f}, blocking pair completeness "
                     f"{float(m['blocking_pair_completeness']):.4f}, "
                     f"reduction ratio {float(m['reduction_ratio']):.5f}")
    if "phases" in m:
        phases = json.loads(m["phases"])
        staged = sum(seconds for name, (seconds, _) in phases.items() if name.startswith("stage "))
        parts = [f"{name} {seconds:.1f}s" for name, (seconds, _) in phases.items() if not name.startswith("stage ")]
        lines.append(f"  time: {', '.join(parts)}, staging {len([n for n in phases if n.startswith('stage ')])} "
                     f"tables {staged:.1f}s (job_runs.metrics.phases has each, with its Spark jobs)")
    lines += [f"  warning: {warning}" for warning in json.loads(m.get("warnings", "[]"))]
    return lines + ["  explanations: tables `match_pairs` and `review_queue`; model: `custseg resolve-model`", ""]


def _segments(results: list[JobResult]) -> list[str]:
    segment = next((r for r in reversed(results) if r.job == "segment"), None)
    if segment is None or "segments" not in segment.metrics:
        return []
    sizes: dict[str, int] = json.loads(segment.metrics["segments"])
    total = sum(sizes.values()) or 1
    lines = [f"Segments (k={segment.metrics.get('k')}, silhouette {segment.metrics.get('silhouette')})"]
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        lines.append(f"  {name:<40} {size:>9,}  {100 * size / total:5.1f}%")
    return lines + [""]


def _quality(results: list[JobResult]) -> list[str]:
    checks = [(r.job, r.metrics["checks_passed"]) for r in results if "checks_passed" in r.metrics]
    audit = next((r for r in reversed(results) if r.job == "audit"), None)
    if not checks and audit is None:
        return []
    lines = ["Data quality"]
    if checks:
        passed = sum(int(value.split("/")[0]) for _, value in checks)
        total = sum(int(value.split("/")[1]) for _, value in checks)
        lines.append(f"  validation and drift checks passed: {passed} of {total} "
                     "(warnings in table `validation_results`; an error would have stopped the job)")
    if audit is not None:
        lines.append(f"  audit of {audit.metrics.get('tables', '?')} tables: {audit.metrics.get('report', '')}")
    return lines + [""]


def _tables(config: Config, results: list[JobResult]) -> list[str]:
    catalog = Catalog(config)
    latest: dict[str, tuple[int, int]] = {}
    for result in results:
        for name, version in result.output_versions.items():
            latest[name] = (version, result.rows_out.get(name, 0))
    lines = ["Delta tables written (version, rows in that version's write)"]
    for name, (version, rows) in sorted(latest.items(), key=lambda item: (catalog.spec(item[0]).layer, item[0])):
        lines.append(f"  {catalog.spec(name).layer + '/' + name:<28} v{version:<5} {rows:>11,}")
    return lines + [""]


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"


def _stream(results: list[JobResult]) -> list[str]:
    stream = next((r for r in reversed(results) if r.job == "stream"), None)
    if stream is None or "batches" not in stream.metrics:
        return []
    m = stream.metrics
    return [
        "Real-time stream",
        f"  {m['batches']} micro-batches in {m['stream_seconds']}s, {int(m['input_rows']):,} events read",
        f"  {int(m['decisions']):,} abandoned carts decided, {int(m['activated']):,} activated "
        f"(the others suppressed, with the reason, in `activations`)",
        f"  {int(m['rejected']):,} rows rejected to `stream_rejects`; {int(m['replayed_batches'])} replayed "
        "batch(es) found already committed",
        *_batch_times(m),
        "",
    ]


def _batch_times(m: dict[str, str]) -> list[str]:
    if "batches_over_trigger" not in m:
        return []
    line = (f"  micro-batches took {m['batch_seconds_median']}s at the median, {m['batch_seconds_max']}s at most, "
            f"against a {m['trigger_seconds']}s trigger")
    over = int(m["batches_over_trigger"])
    if not over:
        return [line]
    return [line + f"; {over} of {m['batches']} ran longer, and the next one started late "
                   "(stream.max_files_per_trigger and stream.trigger_seconds set the pace)"]
