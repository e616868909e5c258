"""Job `stream`: abandoned carts from the event stream to activations, exactly once (not in run_all).

Unlike batch jobs, its tables are committed per micro-batch by the queries' sinks (each commit
idempotent for its batch), not staged until the job ends: a stream has no end to wait for.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from custseg.config import Config
from custseg.governance.consent import CONSENT_INPUTS, current_states
from custseg.governance.export import pseudonymize
from custseg.governance.keys import load_key
from custseg.runtime import JobContext, JobResult, run_job
from custseg.stream import run_stream


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "stream", _stream, parent_run_id)


def _stream(ctx: JobContext) -> None:
    settings, channels = ctx.config.stream, ctx.config.privacy.opt_in_channels
    key = load_key(ctx.config)  # before any query starts: a missing key is one clear error
    report = run_stream(ctx, settings.run_seconds, settings.stop_when_idle_seconds, lambda col: pseudonymize(col, key),
                        lambda read: current_states(read, channels, ctx.run_id), CONSENT_INPUTS)
    ctx.metrics.update(report.metrics(settings.trigger_seconds))
    for name in ("activations", "stream_rejects", "stream_centres"):
        if ctx.table_exists(name):
            ctx.output_versions[name] = ctx.store.version(ctx.catalog.path(name))
