"""Splink on DuckDB beside custseg's full resolve run: the single-machine anchor of
`custseg bench-resolve`.

Splink is never a dependency of custseg: ``bench/splink_resolve.py`` runs in its own
virtualenv (``make splink-venv`` makes ``.venv-splink``; ``CUSTSEG_SPLINK_PYTHON`` names another
interpreter) as a subprocess, on the very Parquet records custseg's timed full run reads, and
writes its clusters (source, record_id, cluster_id) to a Parquet file. Both tools' clusters are
then scored against the ground truth by one function, :func:`pairwise_quality`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

PROJECT = Path(__file__).resolve().parents[3]
SCRIPT = PROJECT / "bench" / "splink_resolve.py"
VENV = ".venv-splink"


def splink_python() -> Path:
    """The interpreter of Splink's virtualenv."""
    given = os.environ.get("CUSTSEG_SPLINK_PYTHON")
    return Path(given) if given else PROJECT / VENV / "bin" / "python"


def missing_reason() -> str | None:
    """Why the Splink anchor cannot run here, in one sentence, or None when it can."""
    python = splink_python()
    if not python.exists():
        return (f"Splink's virtualenv is missing ({python}): create it with `make splink-venv` to race Splink on "
                "DuckDB in the same run; custseg's figures are measured without it.")
    if not SCRIPT.exists():
        return f"the Splink script {SCRIPT} is missing: run the bench from a checkout of custseg."
    return None


def run_splink(input_dir: str, columns: dict[str, str], threshold: float, work_dir: Path,
               seed: int) -> dict[str, Any]:
    """Run the Splink script on ``input_dir``; its figures (seconds of its work, ``process_seconds``
    with the interpreter's start, peak RSS, pairs, clusters) and ``clusters_path``, or
    ``{"skipped": reason}`` when it cannot run or fails (its log then names the cause)."""
    reason = missing_reason()
    if reason:
        return {"skipped": reason}
    work_dir.mkdir(parents=True, exist_ok=True)
    clusters, report, log = work_dir / "clusters.parquet", work_dir / "report.json", work_dir / "splink.log"
    for stale in (clusters, report):
        stale.unlink(missing_ok=True)
    command = [str(splink_python()), str(SCRIPT), "--input", input_dir, "--columns", json.dumps(columns),
               "--threshold", str(threshold), "--output", str(clusters), "--report", str(report),
               "--seed", str(seed)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0 or not report.exists():
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"skipped": f"Splink failed ({last}); its log is {log}."}
    figures: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return {**figures, "process_seconds": round(seconds, 2), "clusters_path": str(clusters)}


def pairwise_quality(records: DataFrame, clusters: DataFrame, truth: DataFrame) -> dict[str, float]:
    """Pairwise precision, recall and F1 of ``clusters`` over the labelled ``records``.

    ``records``: source, record_id (the input both tools resolved); ``clusters``: source,
    record_id, cluster (a record missing from it stands alone); ``truth``: source, record_id,
    person_id. A pair of records is predicted when they share a cluster and true when they
    share a person; the counts come from group sizes (n records hold n(n-1)/2 pairs)."""
    labelled = (records.select("source", "record_id").join(truth.select("source", "record_id", "person_id"),
                                                            ["source", "record_id"], "inner")
                .join(clusters.select("source", "record_id", F.col("cluster").cast("string")),
                      ["source", "record_id"], "left")
                .withColumn("cluster", F.coalesce("cluster", F.concat_ws("|", F.lit("alone"), "source", "record_id"))))
    pairs = F.sum(F.col("n") * (F.col("n") - 1) / 2)

    def pair_count(*keys: str) -> float:
        row = labelled.groupBy(*keys).agg(F.count(F.lit(1)).alias("n")).agg(F.coalesce(pairs, F.lit(0.0))).first()
        return float(row[0]) if row else 0.0

    predicted, true, agreeing = pair_count("cluster"), pair_count("person_id"), pair_count("cluster", "person_id")
    precision = agreeing / predicted if predicted else 1.0
    recall = agreeing / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairwise_precision": precision, "pairwise_recall": recall, "pairwise_f1": f1,
            "predicted_pairs": predicted, "true_pairs": true}
