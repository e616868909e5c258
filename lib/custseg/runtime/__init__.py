"""Job runtime: context, runner and run log."""

from custseg.runtime.context import JobContext
from custseg.runtime.runner import JobResult, run_job, table_store

__all__ = ["JobContext", "JobResult", "run_job", "table_store"]
