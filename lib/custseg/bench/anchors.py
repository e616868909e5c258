"""Single-machine anchors: the tools a team would pick instead of custseg, raced in the same
run, on the same data and machine, and reported as ratios (custseg's seconds over theirs).

- `custseg bench`: the `features` stage against the same aggregates in DuckDB SQL over the
  same Delta tables (:mod:`custseg.bench.duckdb_features`), and the `segment` stage against
  its k search and final fit in scikit-learn on the same prepared matrix
  (:mod:`custseg.bench.sklearn_segment`).
- `custseg bench-resolve`: the full resolve run against Splink on DuckDB on the same input,
  both scored by one function (:mod:`custseg.bench.splink_anchor`).

An anchor that cannot run here is skipped with one sentence saying why; custseg's own figures
are measured either way.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.errors import CustsegError
from custseg.runtime import table_store

log = logging.getLogger(__name__)


def _ratio(custseg_seconds: float, anchor_seconds: float) -> float | None:
    """custseg's seconds over the anchor's, both as reported (to the hundredth)."""
    anchor_seconds = round(anchor_seconds, 2)
    return round(custseg_seconds / anchor_seconds, 2) if anchor_seconds > 0 else None


def _skipped(tool: str, reason: str) -> dict[str, Any]:
    log.warning("bench: %s anchor skipped: %s", tool, reason)
    return {"tool": tool, "skipped": reason}


def features_anchor(config: Config, stage_seconds: float, stage_as_of: str | None) -> dict[str, Any]:
    """The features' aggregates in DuckDB over the same tables, written to Parquet, timed."""
    from custseg.bench import duckdb_features

    try:
        connection = duckdb_features.connect()
    except CustsegError as missing:
        return _skipped("duckdb", str(missing))
    import duckdb

    catalog = Catalog(config)
    paths = {name: catalog.path(name) for name in duckdb_features.TABLES}
    output = Path(config.root_dir) / "bench-anchors" / "features.parquet"
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        as_of = config.features.as_of or duckdb_features.default_as_of(connection, paths)
        connection.sql(duckdb_features.features_sql(paths, as_of, config.features)).write_parquet(str(output))
        seconds = time.perf_counter() - started
        rows = connection.execute("SELECT COUNT(*) FROM read_parquet(?)", [str(output)]).fetchone()
    except duckdb.Error as error:
        return _skipped("duckdb", f"DuckDB could not compute the features ({str(error).splitlines()[0]})")
    finally:
        connection.close()
    return {"tool": "duckdb", "version": duckdb.__version__, "seconds": round(seconds, 2),
            "rows": int(rows[0]) if rows else 0, "as_of_date": as_of.isoformat(),
            "same_as_of": stage_as_of in (None, as_of.isoformat()), "output": str(output),
            "ratio": _ratio(stage_seconds, seconds)}


def segment_anchor(spark: SparkSession, config: Config, stage_seconds: float,
                   metrics: dict[str, str]) -> dict[str, Any]:
    """The segment stage's k search and final fit in scikit-learn on the prepared matrix, timed
    (collecting the matrix is not)."""
    import sklearn

    from custseg.bench import sklearn_segment

    settings = config.segment
    features = table_store(spark, config).read(Catalog(config).path("customer_features"))
    matrix = sklearn_segment.prepared_matrix(features, settings)
    if len(matrix) < 2:
        return _skipped("scikit-learn", f"customer_features holds {len(matrix)} row(s): nothing to cluster")
    found = sklearn_segment.search(matrix, settings)
    return {"tool": "scikit-learn", "version": sklearn.__version__, "seconds": round(found.seconds, 2),
            "search_seconds": round(found.search_seconds, 2), "final_fit_seconds": round(found.final_fit_seconds, 2),
            "rows": len(matrix), "sample_rows": found.sample_rows, "dimensions": int(matrix.shape[1]),
            "k": found.best.k, "silhouette": round(found.best.silhouette, 4),
            "custseg_k": int(metrics["k"]) if "k" in metrics else None,
            "custseg_silhouette": float(metrics["silhouette"]) if "silhouette" in metrics else None,
            "tried": [{"k": t.k, "silhouette": round(t.silhouette, 4), "smallest_share": round(t.smallest_share, 4),
                       "eligible": t.eligible} for t in found.tried],
            "ratio": _ratio(stage_seconds, found.seconds)}


def pipeline_anchor(spark: SparkSession, config: Config, stage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The anchor of a timed stage (features, segment), keyed by the stage; nothing for the others."""
    metrics = stage.get("metrics", {})
    if stage["stage"] == "features":
        return {"features": features_anchor(config, stage["seconds"], metrics.get("as_of_date"))}
    if stage["stage"] == "segment":
        return {"segment": segment_anchor(spark, config, stage["seconds"], metrics)}
    return {}


def resolve_anchor(spark: SparkSession, outputs: Config, truth: Config, input_path: str, full: dict[str, Any],
                   work_dir: Path) -> dict[str, Any]:
    """Splink on the input of custseg's full run (``full``, whose tables ``outputs`` holds), both
    tools' clusters scored against the ground truth of ``truth`` by the same function."""
    from custseg.bench.splink_anchor import pairwise_quality, run_splink

    settings = outputs.resolve
    records = spark.read.parquet(input_path)
    people = table_store(spark, truth).read(Catalog(truth).path("truth_records"))
    crosswalk = table_store(spark, outputs).read(Catalog(outputs).path("identity_crosswalk"))
    custseg = {"seconds": full["seconds"], "peak_rss_mb": full["peak_rss_mb"],
               **pairwise_quality(records, crosswalk.withColumn("cluster", F.col("cluster_node")), people)}
    splink = run_splink(input_path, settings.column_names, settings.match_threshold, work_dir, settings.seed)
    if "skipped" in splink:
        return {**_skipped("splink", splink["skipped"]), "custseg": custseg}
    clusters = spark.read.parquet(splink["clusters_path"]).withColumnRenamed("cluster_id", "cluster")
    splink.update(pairwise_quality(records, clusters, people))
    return {"tool": "splink", "version": splink.get("splink"), "custseg": custseg, "splink": splink,
            "ratio": _ratio(full["seconds"], splink["seconds"])}


def _cell(value: Any, form: str = "{}") -> str:
    return "-" if value is None else form.format(value)


def pipeline_anchor_table(reports: list[dict[str, Any]]) -> str:
    """A row per anchor of each report: custseg's stage seconds, the anchor's, and their ratio."""
    lines = ["| run | customers | stage | custseg s | anchor | anchor s | custseg / anchor | notes |",
             "|---|---:|---|---:|---|---:|---:|---|"]
    for report in reports:
        seconds = {s["stage"]: s["seconds"] for s in report["stages"]}
        for stage, anchor in report.get("anchors", {}).items():
            tool = f"{anchor['tool']} {anchor.get('version', '')}".strip()
            if "skipped" in anchor:
                notes = f"skipped: {anchor['skipped']}"
            elif stage == "segment":
                notes = (f"k {anchor['k']} (custseg {_cell(anchor.get('custseg_k'))}), silhouette "
                         f"{anchor['silhouette']} (custseg {_cell(anchor.get('custseg_silhouette'))}); search "
                         f"{anchor['search_seconds']} s on {anchor['sample_rows']:,} rows, final fit "
                         f"{anchor['final_fit_seconds']} s")
            else:
                notes = f"{anchor['rows']:,} rows as of {anchor['as_of_date']}"
            lines.append(f"| {report['started']} | {report['scale']:,} | {stage} | {seconds.get(stage, '-')} "
                         f"| {tool} | {_cell(anchor.get('seconds'))} | {_cell(anchor.get('ratio'))} | {notes} |")
    return "\n".join(lines)


def resolve_anchor_table(rows: list[dict[str, Any]]) -> str:
    """A row per bench-resolve size that raced Splink: both times, qualities and peak memories."""
    lines = ["| run | records | custseg s | Splink s | custseg / Splink | custseg P / R / F1 | Splink P / R / F1 "
             "| custseg peak RSS MB | Splink peak RSS MB | Splink pairs scored |",
             "|---|---:|---:|---:|---:|---|---|---:|---:|---:|"]

    def quality(figures: dict[str, Any]) -> str:
        if "pairwise_f1" not in figures:
            return "-"
        return " / ".join(f"{figures[f'pairwise_{k}']:.4f}" for k in ("precision", "recall", "f1"))

    for row in rows:
        anchor = row.get("anchor")
        if not anchor:
            continue
        custseg, splink = anchor["custseg"], anchor.get("splink", {})
        lines.append(f"| {row['started']} | {row['records']:,} | {custseg['seconds']} "
                     f"| {_cell(splink.get('seconds'))} | {_cell(anchor.get('ratio'))} | {quality(custseg)} "
                     f"| {quality(splink)} | {custseg['peak_rss_mb']:,} | {_cell(splink.get('peak_rss_mb'), '{:,}')} "
                     f"| {_cell(splink.get('candidate_pairs'), '{:,}')} |")
    return "\n".join(lines)
