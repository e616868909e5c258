"""A Spark standalone master and worker on 127.0.0.1, started from the pip-installed pyspark."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.find_spark_home import _find_spark_home


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def standalone_cluster(work_dir: Path, worker_cores: int = 1, worker_memory: str = "2g") -> Iterator[str]:
    """Yield the master URL; both daemons are stopped on exit, whatever happened."""
    spark_class = Path(_find_spark_home()) / "bin" / "spark-class"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(work_dir / "worker"),
           "SPARK_LOG_DIR": str(work_dir / "logs"), "SPARK_NO_DAEMONIZE": "1"}
    master_port, master_ui, worker_ui = free_port(), free_port(), free_port()
    master_url = f"spark://127.0.0.1:{master_port}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(_start(work_dir / "master.log", env, [
            str(spark_class), "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(master_port), "--webui-port", str(master_ui)]))
        _wait_for(lambda: _master_state(master_ui) is not None, "master", work_dir / "master.log")
        processes.append(_start(work_dir / "worker.log", env, [
            str(spark_class), "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
            "--cores", str(worker_cores), "--memory", worker_memory, "--webui-port", str(worker_ui), master_url]))
        _wait_for(lambda: (_master_state(master_ui) or {}).get("aliveworkers", 0) >= 1, "worker",
                  work_dir / "worker.log")
        yield master_url
    finally:
        for process in reversed(processes):
            _stop(process)


def _start(log: Path, env: dict[str, str], command: list[str]) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("wb")
    return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _master_state(ui_port: int) -> dict | None:  # type: ignore[type-arg]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def _wait_for(ready, what: str, log: Path, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(1)
    raise TimeoutError(f"standalone {what} not ready after {timeout}s; log:\n{log.read_text()[-3000:]}")
