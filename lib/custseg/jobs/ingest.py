"""Job `ingest`: every source in conf/sources.yaml into its bronze table, bad rows to `rejects`.

Records read = accepted + rejected is checked per source and recorded in
`ingest_accounting`. A source whose reject rate exceeds its limit fails the job, and then no
table gets a new version.
"""

from __future__ import annotations

import datetime as dt
import logging

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from custseg.config import Config
from custseg.errors import InputDataError
from custseg.governance.filters import erased_filter
from custseg.ingest import account, read_source
from custseg.runtime import JobContext, JobResult, run_job
from custseg.tables.ops import INGEST_ACCOUNTING, REJECTS

log = logging.getLogger(__name__)


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "ingest", _ingest, parent_run_id)


def _ingest(ctx: JobContext) -> None:
    started = dt.datetime.now(dt.UTC)
    rejected_frames: list[DataFrame] = []
    accounting: list[dict[str, object]] = []
    erased_rows = erased_filter(ctx)  # persons in erasure_log never come back
    try:
        for name, source in ctx.config.sources.items():
            ctx.step = f"reading source {name}"
            batch = read_source(ctx.spark, name, source, ctx.config.source_glob(source))
            try:
                accepted_frame, rejected_frame = batch.accepted(ctx.run_id), batch.rejected(ctx.run_id, started)
                if erased_rows is not None:
                    accepted_frame = erased_rows.drop_erased(accepted_frame, ctx.catalog.spec(name))
                    rejected_frame = erased_rows.drop_erased_text(rejected_frame, "raw_record", name)
                ctx.write(name, accepted_frame)
                # One source's parse is held at a time: its rejected rows (few) are kept, and
                # counting them materializes them before the parse is released.
                rejected_frame = rejected_frame.persist(StorageLevel.MEMORY_AND_DISK)
                rejected_frames.append(rejected_frame)
                rejected, erased = rejected_frame.count(), 0
                if erased_rows is not None:  # an erased row was read, and is neither accepted nor rejected
                    all_accepted = batch.records.filter(batch.records.reason.isNull()).count()
                    all_rejected = batch.records.filter(batch.records.reason.isNotNull()).count()
                    erased = (all_accepted - ctx.rows_out[name]) + (all_rejected - rejected)
            finally:
                batch.release()
            accepted = ctx.rows_out[name]
            account(batch, accepted + erased, rejected)
            ctx.count_input(f"raw:{name}", batch.records_read)
            limit = source.max_reject_rate if source.max_reject_rate is not None else ctx.config.ingest.max_reject_rate
            rate = rejected / batch.records_read if batch.records_read else 0.0
            accounting.append({
                "run_id": ctx.run_id, "source": name, "files": batch.files, "rows_read": batch.records_read,
                "rows_accepted": accepted, "rows_rejected": rejected, "reject_rate": rate,
                "max_reject_rate": limit, "within_limit": rate <= limit, "rows_erased": erased,
            })
            ctx.metrics[f"{name}.read_accepted_rejected"] = f"{batch.records_read}/{accepted}/{rejected}"
            log.info("ingest: %s read %d = accepted %d + rejected %d (%.3f%%)", name, batch.records_read,
                     accepted, rejected, 100 * rate)
        ctx.write(REJECTS.name, _union(rejected_frames, ctx))
        ctx.write_rows(INGEST_ACCOUNTING.name, accounting)
    finally:
        for frame in rejected_frames:
            frame.unpersist()
    over = [a for a in accounting if not a["within_limit"]]
    if over:
        details = "; ".join(
            f"source {a['source']}: {a['rows_rejected']} of {a['rows_read']} rows rejected "
            f"({100 * float(a['reject_rate']):.2f}% > limit {100 * float(a['max_reject_rate']):.2f}%)"  # type: ignore[arg-type]
            for a in over
        )
        raise InputDataError(f"reject rate over the limit, nothing published: {details}; see the rejected rows with "
                             "the `reason` column by re-running with a higher ingest.max_reject_rate")


def _union(frames: list[DataFrame], ctx: JobContext) -> DataFrame:
    if not frames:
        return ctx.spark.createDataFrame([], REJECTS.schema)
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result
