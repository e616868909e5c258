"""Run a command and report the peak memory of its process tree: the JVM and the Python processes.

    .venv/bin/python bench/peak_memory.py -- .venv/bin/custseg ingest --set spark.driver_memory=1g

Samples every half second: the resident memory of the JVM and of the command and its Python
workers with psutil (counted as the stage probe counts them, ``resident_by_kind``) and, with
`jstat`, the JVM's heap in use (survivor, eden and old generation) and its old generation
alone (what survives collections: the figure that runs out first). Prints one JSON object.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psutil

from custseg.memory.probe import resident_by_kind


def _jvm_heap(pid: int) -> tuple[float, float] | None:
    """(heap used, old generation used) in MiB from `jstat -gc`, or None."""
    try:
        out = subprocess.run(["jstat", "-gc", str(pid)], capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return None
    half = len(out) // 2
    if half == 0:
        return None
    row = dict(zip(out[:half], out[half:], strict=True))
    try:
        used = sum(float(row[k]) for k in ("S0U", "S1U", "EU", "OU"))
        return used / 1024, float(row["OU"]) / 1024
    except (KeyError, ValueError):
        return None


def main(command: list[str]) -> int:
    started = time.time()
    proc = subprocess.Popen(command)
    root = psutil.Process(proc.pid)
    peak = {"jvm_rss_mib": 0.0, "python_rss_mib": 0.0, "heap_used_mib": 0.0, "old_gen_used_mib": 0.0}
    while proc.poll() is None:
        try:
            command_rss = root.memory_info().rss
            children = root.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        jvm_rss, workers_rss = resident_by_kind(children)
        for child in children:
            try:
                heap = _jvm_heap(child.pid) if child.name() == "java" else None
            except psutil.NoSuchProcess:
                continue
            if heap:
                peak["heap_used_mib"] = max(peak["heap_used_mib"], heap[0])
                peak["old_gen_used_mib"] = max(peak["old_gen_used_mib"], heap[1])
        peak["jvm_rss_mib"] = max(peak["jvm_rss_mib"], jvm_rss / 2**20)
        peak["python_rss_mib"] = max(peak["python_rss_mib"], (command_rss + workers_rss) / 2**20)
        time.sleep(0.5)
    report = {"command": command, "exit_code": proc.wait(), "seconds": round(time.time() - started, 1),
              **{k: round(v) for k, v in peak.items()}}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[1:] if args[:1] == ["--"] else args))
