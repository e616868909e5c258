"""Job runtime: context, runner and run log."""

from custseg.runtime.context import JobContext, TableReader
from custseg.runtime.runlog import SEGMENT_MODEL_RUN, segmentation_runs
from custseg.runtime.runner import JobResult, run_job, table_store

__all__ = ["SEGMENT_MODEL_RUN", "JobContext", "JobResult", "TableReader", "run_job", "segmentation_runs",
           "table_store"]
