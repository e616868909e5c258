"""The pipeline submitted with spark-submit.sh to a real standalone cluster on 127.0.0.1."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.readers import deltalake_table
from tests.standalone import standalone_cluster


@pytest.mark.standalone
def test_pipeline_on_a_standalone_cluster(project_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    with standalone_cluster(tmp_path / "cluster") as master:
        completed = subprocess.run(
            [str(project_dir / "spark-submit.sh"), "run_all", "--env", "standalone", "--master", master,
             "--customers", "300", "--set", f"storage.root={root}", "--set", "spark.executor_memory=1g",
             "--set", "spark.driver_memory=1g",
             # What is under test is the submission, not the model choice: few candidate k, no resampling.
             "--set", "segment.k_max=4", "--set", "segment.bootstrap_samples=0"],
            cwd=project_dir, capture_output=True, text=True, timeout=900,
        )
        assert completed.returncode == 0, completed.stderr[-4000:]
    assert "8 job(s) succeeded" in completed.stdout
    assert f"master {master}" in completed.stdout
    runs = deltalake_table(str(root / "warehouse" / "ops" / "job_runs")).to_pylist()
    assert sorted(r["job"] for r in runs) == [
        "audit", "clean", "features", "generate", "ingest", "report", "resolve", "segment"]
    assert {r["status"] for r in runs} == {"succeeded"} and {r["spark_master"] for r in runs} == {master}
    assert len({r["parent_run_id"] for r in runs}) == 1
    segments = deltalake_table(str(root / "warehouse" / "gold" / "customer_segments")).to_pylist()
    customers = deltalake_table(str(root / "warehouse" / "gold" / "customer_master")).num_rows
    assert len(segments) == customers > 250
    assert all(row["segment_name"] for row in segments)
