"""A job whose JVM runs out of heap ends in one sentence, leaves every table as it was, and is
recorded as failed in job_runs although its JVM is gone."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from deltalake import DeltaTable

BIN = Path(sys.executable).parent


def _versions(warehouse: Path) -> dict[str, int]:
    return {p.parent.name: DeltaTable(str(p.parent)).version() for p in warehouse.glob("*/*/_delta_log")}


def test_ingest_out_of_heap_is_one_sentence_and_changes_no_table(  # type: ignore[no-untyped-def]
    pipeline, project_dir: Path, tmp_path: Path
) -> None:
    config, _ = pipeline
    root = tmp_path / "root"
    shutil.copytree(config.root_dir, root)
    before = _versions(root / "warehouse")
    # Only the largest source, and no rules on the others, so the JVM dies early in the run.
    sources = yaml.safe_load((project_dir / "conf" / "sources.yaml").read_text(encoding="utf-8"))
    sources["sources"] = {"events": sources["sources"]["events"]}
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(sources), encoding="utf-8")
    (tmp_path / "rules.yaml").write_text("rules: {}\n", encoding="utf-8")
    result = subprocess.run([
        str(BIN / "custseg"), "ingest", "--set", f"storage.root={root}",
        "--set", f"ingest.sources_file={tmp_path / 'sources.yaml'}",
        "--set", f"quality.rules_file={tmp_path / 'rules.yaml'}",
        # A 128 MiB heap that Spark is told is 2 GiB (spark.testing.memory passes its start-up check).
        "--set", "spark.driver_memory=128m", "--set", 'spark.conf={"spark.testing.memory": "2147483648"}',
    ], cwd=project_dir, capture_output=True, text=True, timeout=600)

    assert result.returncode == 7, result.stderr[-2000:]
    sentence = [line for line in result.stderr.splitlines() if line.startswith("custseg ingest: ")]
    assert len(sentence) == 1, result.stderr[-2000:]
    assert re.match(
        r"custseg ingest: job ingest \((reading source|staging table) (events|rejects)\) ran out of Java heap "
        r"\(the driver JVM had a heap of 0\.1\d GiB, spark\.driver_memory=128m\): raise spark\.driver_memory, "
        r"e\.g\. --set spark\.driver_memory=1g, or lower spark\.max_partition_bytes; no output table changed\. "
        r"The traceback is in (\S+) ", sentence[0])
    assert "Traceback" not in result.stderr and "\tat " not in result.stderr
    log_file = Path(sentence[0].split("The traceback is in ")[1].split(" ")[0])
    assert log_file.parent == root / "logs" and "Traceback (most recent call last)" in log_file.read_text()

    after = _versions(root / "warehouse")
    assert after == {**before, "job_runs": before["job_runs"] + 1}
    runs = DeltaTable(str(root / "warehouse" / "ops" / "job_runs")).to_pyarrow_table().to_pylist()
    last = max(runs, key=lambda r: r["started_at"])
    assert (last["job"], last["status"]) == ("ingest", "failed")
    assert "ran out of Java heap" in last["error"]
