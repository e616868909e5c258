"""Runs killed mid-way: found at the next start, their tables put back, logged as failed.

A run leaves a marker file (``<storage.root>/runs/<run id>.json``: job, process id, host) while it
works and removes it when it has logged itself. A process killed outright (SIGKILL, a lost
node) cannot clean up, so the next job to start looks for markers of processes that are gone on
this host. Every table whose latest commit belongs to such a run is restored to the version
before that run's first commit (or dropped, if the run created it): the run's tables go back
together, so no reader is left with part of an unfinished run. The run then gets its
``job_runs`` row, as failed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.resolved import is_uri, join_path
from custseg.delta import CommitInfo, TableStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KilledRun:
    run_id: str
    job: str
    started_at: dt.datetime
    parent_run_id: str | None
    restored: dict[str, int | None]  # table -> version it went back to (None: dropped)


def _runs_dir(config: Config) -> Path | None:
    if is_uri(config.root_dir):
        return None  # markers need a local folder; remote roots rely on job_runs alone
    return Path(join_path(config.root_dir, "runs"))


def mark_started(config: Config, run_id: str, job: str, started_at: dt.datetime, parent_run_id: str | None) -> None:
    folder = _runs_dir(config)
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    marker = {"run_id": run_id, "job": job, "pid": os.getpid(), "host": socket.gethostname(),
              "started_at": started_at.isoformat(), "parent_run_id": parent_run_id}
    (folder / f"{run_id}.json").write_text(json.dumps(marker), encoding="utf-8")


def mark_finished(config: Config, run_id: str) -> None:
    folder = _runs_dir(config)
    if folder is not None:
        (folder / f"{run_id}.json").unlink(missing_ok=True)
        (folder / f"{run_id}.recovering").unlink(missing_ok=True)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def killed_markers(config: Config) -> list[dict[str, object]]:
    """Markers of runs on this host whose process no longer exists."""
    folder = _runs_dir(config)
    if folder is None or not folder.is_dir():
        return []
    host, found = socket.gethostname(), []
    for path in sorted(folder.glob("*.json")):
        try:
            marker = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if marker.get("host") == host and not _is_alive(int(marker.get("pid", 0))):
            claimed = path.with_suffix(".recovering")
            try:  # one starting job claims it, even when several start at once
                path.rename(claimed)
            except FileNotFoundError:
                continue
            found.append(marker)
    return found


def recover(config: Config, store: TableStore, catalog: Catalog, recovering_run: str) -> list[KilledRun]:
    """Restore the tables of every killed run and return those runs (their markers are removed)."""
    recovered = []
    for marker in killed_markers(config):
        run_id = str(marker["run_id"])
        info = CommitInfo(job="recovery", run_id=recovering_run, extra={"recoveredRun": run_id})
        restored: dict[str, int | None] = {}
        for spec in catalog.specs():
            path = catalog.path(spec.name)
            if not store.exists(path):
                continue
            history = store.history(path, limit=50)
            if not history or history[0].run_id != run_id:
                continue
            own = [e.version for e in history if e.run_id == run_id]
            before = min(own) - 1
            if before < 0:
                store.drop(path)
                restored[spec.name] = None
            else:
                store.restore(path, before, info)
                restored[spec.name] = before
            log.warning("run %s was killed while committing: table %s put back to version %s", run_id, spec.name,
                        before if before >= 0 else "(none: dropped)")
        recovered.append(KilledRun(run_id, str(marker["job"]), dt.datetime.fromisoformat(str(marker["started_at"])),
                                   marker.get("parent_run_id"), restored))  # type: ignore[arg-type]
    return recovered
