"""The run's log file under ``<storage.root>/logs/``: what the console leaves out, in full.

The console shows one line per event and one sentence for a failure; the log file keeps every
message with its traceback, and the driver JVM writes its own log beside it (``-jvm.log``,
through the packaged log4j2 configuration), so a failed nightly run can be read afterwards.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path

from custseg.memory import failures

JVM_LOG_PROPERTY = "custseg.jvm.log"
_HANDLER_NAME = "custseg-run-log"
_state: dict[str, Path] = {}


class ConsoleFormatter(logging.Formatter):
    """Messages without tracebacks (they go to the log file), unless ``verbose``."""

    def __init__(self, fmt: str, verbose: bool):
        super().__init__(fmt)
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if self.verbose:
            return super().format(record)
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def logs_dir(root_dir: str) -> Path:
    """``<storage.root>/logs`` for a local root; a temporary folder for a remote one."""
    root = root_dir.removeprefix("file://")
    if "://" in root:
        return Path(tempfile.gettempdir()) / "custseg-logs"
    return Path(root) / "logs"


def open_run_log(root_dir: str, command: str) -> Path:
    """Start this command's log file under ``root_dir`` (``Config.root_dir``), replacing an earlier
    one of this process; returns its path."""
    folder = logs_dir(root_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{command}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.getpid()}.log"
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    _state["log"] = path
    return path


def current_log() -> Path | None:
    return _state.get("log")


def jvm_log_path(log_path: Path) -> Path:
    return log_path.with_name(log_path.stem + "-jvm.log")


def report_failure(error: BaseException, command: str, verbose: bool) -> str:
    """The sentence to print for ``error``; its traceback goes to the run log (and stderr with -v)."""
    exit_code = failures.dying_jvm_exit_code(error)
    sentence = failures.explain(error, command, exit_code)
    details = "".join(traceback.format_exception(error))
    log_path = current_log() or Path(tempfile.gettempdir()) / f"custseg-{command}-{os.getpid()}.log"
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a", encoding="utf-8") as out:
            out.write(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} ERROR {sentence}\n")
            if exit_code is not None:
                out.write(f"driver JVM exit code: {exit_code}\n")
            out.write(details)
        where = f"the traceback is in {log_path}"
        jvm_log = jvm_log_path(log_path)
        if jvm_log.is_file():
            where += f" and the JVM's log in {jvm_log}"
    except OSError:
        where = "the log file could not be written"
    if verbose:
        print(details, file=sys.stderr, end="")
    return f"{sentence}. {where[0].upper()}{where[1:]} (or run with -v to see it here)."
