"""Command-line behaviour: help, config errors before Spark starts, a clear Java message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def _run(args: list[str], project_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=project_dir, capture_output=True, text=True, timeout=120, env=env)


def test_help_lists_every_job(project_dir: Path) -> None:
    result = _run([str(BIN / "custseg"), "--help"], project_dir)
    assert result.returncode == 0
    for job in ("generate", "ingest", "clean", "resolve", "features", "segment", "run_all", "tables", "history"):
        assert job in result.stdout


def test_spark_submit_script_documents_itself(project_dir: Path) -> None:
    result = _run([str(project_dir / "spark-submit.sh"), "--help"], project_dir)
    assert result.returncode == 0
    for option in ("--env", "--master", "--deploy-mode", "--set", "--delta-packages", "--py-files"):
        assert option in result.stdout


def test_bad_config_stops_before_spark_starts(project_dir: Path) -> None:
    result = _run([str(project_dir / "spark-submit.sh"), "ingest", "--set", "segmnt.k_max=3"], project_dir)
    assert result.returncode == 2
    assert "segmnt: unknown key (did you mean 'segment'?)" in result.stderr
    assert "SparkContext" not in result.stderr and "WARN" not in result.stderr


def test_unknown_job_is_refused(project_dir: Path) -> None:
    result = _run([str(project_dir / "spark-submit.sh"), "nosuchjob"], project_dir)
    assert result.returncode == 2 and "unknown job 'nosuchjob'" in result.stderr


def test_spark_args_carry_config_sizes(project_dir: Path) -> None:
    result = _run([str(BIN / "custseg"), "spark-args", "--env", "standalone", "--master", "spark://h:7077",
                   "--set", "spark.executor_memory=3g"], project_dir)
    assert result.returncode == 0
    assert result.stdout.startswith("--master spark://h:7077 --name custseg --driver-memory 2g --executor-memory 3g")
    assert "spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS" in result.stdout


def test_missing_java_is_one_clear_sentence(project_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(BIN)  # the virtualenv only: no java on it
    result = _run([str(BIN / "custseg"), "generate", "--set", f"storage.root={tmp_path}"], project_dir, env)
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "custseg generate: Java was not found: install a Java 17 runtime "
        "(for example: apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
    )


def test_bench_refuses_an_unknown_stage_before_spark_starts(project_dir: Path, tmp_path: Path) -> None:
    result = _run([str(BIN / "custseg"), "bench", "--scale", "10", "--stages", "segment", "featurs",
                   "--output-dir", str(tmp_path)], project_dir)
    assert result.returncode != 0
    assert "unknown stage(s) featurs" in result.stderr
    assert "SparkContext" not in result.stderr and not list(tmp_path.iterdir())


def test_bench_runs_named_stages_in_pipeline_order() -> None:
    from custseg.bench import pipeline_stages

    assert pipeline_stages(["segment", "features"]) == ["features", "segment"]
    assert pipeline_stages(None)[0] == "generate" and pipeline_stages([])[-1] == "report"


def test_bench_credits_raw_files_to_generate_once_when_saved_after_every_stage() -> None:
    from custseg.bench.stages import _count_raw_records

    timed = [{"stage": "generate", "seconds": 2.0, "rows_out": 10, "raw_inputs": {}}]
    _count_raw_records(timed)
    timed.append({"stage": "ingest", "seconds": 1.0, "rows_out": 5, "raw_inputs": {"raw:crm": 30, "raw:web": 20}})
    _count_raw_records(timed)
    timed.append({"stage": "clean", "seconds": 1.0, "rows_out": 5, "raw_inputs": {}})
    _count_raw_records(timed)
    assert timed[0]["rows_out"] == 60 and timed[0]["rows_per_second"] == 30
    assert not any("raw_inputs" in stage for stage in timed)


def test_resolve_bench_table_shows_where_the_incremental_time_went() -> None:
    from custseg.bench import resolve_table

    row = {"started": "2026-11-30T00:00:00+00:00", "records": 1000, "seconds": 10.0, "ratio": 5.0, "peak_rss_mb": 100,
           "incremental_new_records": 10, "incremental_seconds": 4.0, "incremental_share": 0.4}
    timed = {**row, "incremental_matching_seconds": 1.5, "incremental_writing_seconds": 2.0}
    header, rule, older, newer = resolve_table([row, timed]).splitlines()
    assert header.count("|") == rule.count("|") == older.count("|") == newer.count("|")
    assert older.endswith("| - | - |") and newer.endswith("| - | 1.5 / 2.0 |")
