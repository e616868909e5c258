"""Start the two streaming queries of `custseg stream` and watch them until told to stop.

The decision query: source -> events of the declared schema -> watermark on event time ->
product prices (static join) -> ``CartProcessor`` per bucket of accounts (transformWithStateInPandas,
RocksDB) -> ``DecisionSink``. The rejects query reads the same source for rows the first cannot
use (malformed, or late against the watermark) -> ``RejectSink``.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery

from custseg.config import Config
from custseg.config.resolved import is_uri, join_path
from custseg.errors import ConfigError, InputDataError
from custseg.runtime import JobContext
from custseg.stream.carts import DECISION_SCHEMA, INPUT_COLUMNS, CartProcessor
from custseg.stream.decide import Pseudonymizer
from custseg.stream.kmeans import Centres, initial_from_history
from custseg.stream.lookup import ConsentStates, LiveLookup
from custseg.stream.sink import DecisionSink, RejectSink, load_centres
from custseg.stream.sources import events_source, parse_events, read_raw

log = logging.getLogger(__name__)
ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
# Session settings while the stream runs: RocksDB state, committed as a changelog per micro-batch
# (not a snapshot of every partition each time); the shuffle partitions (the state's among them)
# are stream.state_partitions.
STATE_CONF = {"spark.sql.streaming.stateStore.providerClass": ROCKSDB,
              "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true"}
# A Python worker that starts too slowly on a busy machine (Spark waits 10 s for it to connect).
TRANSIENT = ("Python worker failed to connect back", "CANNOT_OPEN_SOCKET")
MAX_RESTARTS = 5


@dataclass
class StreamReport:
    batches: int = 0
    input_rows: int = 0
    decisions: int = 0
    activated: int = 0
    rejected: int = 0
    replayed_batches: int = 0
    dropped_by_watermark: int = 0
    lookup_builds: int = 0  # the customer lookup built at the first batch that decides carts, and after changes
    seconds: float = 0.0
    batch_seconds: list[float] = field(default_factory=list)

    def on_decisions(self, summary: dict[str, Any]) -> None:
        self.decisions += int(summary["decisions"])
        self.activated += int(summary["activated"])
        self.replayed_batches += int(bool(summary["replayed"]))
        log.info("stream: batch %s: %s decisions, %s activated%s", summary["batch_id"], summary["decisions"],
                 summary["activated"], " (replayed: already committed)" if summary["replayed"] else "")

    def on_rejects(self, summary: dict[str, Any]) -> None:
        self.rejected += int(summary["rejected"])
        if summary["rejected"]:
            log.info("stream: batch %s: %s rows rejected", summary["batch_id"], summary["rejected"])

    def metrics(self, trigger_seconds: float) -> dict[str, str]:
        """Counts, and the micro-batches' durations against the trigger: Spark's own warning for
        each batch that outran it is kept out of the console, and the summary says it once."""
        durations = sorted(self.batch_seconds)
        median = statistics.median(durations) if durations else 0.0
        return {"batches": str(self.batches), "input_rows": str(self.input_rows), "decisions": str(self.decisions),
                "activated": str(self.activated), "rejected": str(self.rejected),
                "replayed_batches": str(self.replayed_batches), "dropped_by_watermark": str(self.dropped_by_watermark),
                "lookup_builds": str(self.lookup_builds), "stream_seconds": f"{self.seconds:.1f}",
                "trigger_seconds": f"{trigger_seconds:g}", "batch_seconds_median": f"{median:.1f}",
                "batch_seconds_max": f"{durations[-1] if durations else 0.0:.1f}",
                "batches_over_trigger": str(sum(d > trigger_seconds for d in durations))}


def stream_path(config: Config, path: str) -> str:
    """A stream setting's path: absolute or a URI as given, else under storage.root."""
    return path if is_uri(path) or Path(path).is_absolute() else join_path(config.root_dir, path)


def run_stream(ctx: JobContext, run_seconds: float | None, idle_seconds: float | None, pseudonymize: Pseudonymizer,
               consent: ConsentStates | None = None, consent_tables: Sequence[str] = ()) -> StreamReport:
    """Start both queries, wait until ``run_seconds`` passed or no input came for ``idle_seconds``
    (None: until stopped from outside), stop them and report.

    Args:
        pseudonymize: the keyed hash activations carry instead of the account id.
        consent: each customer's latest consent per channel; None: nobody has consented, and
            nothing is activated.
        consent_tables: the tables ``consent`` reads; a new version of one refreshes the lookup.
    """
    spark, config = ctx.spark, ctx.config
    partitions = config.stream.state_partitions or spark.sparkContext.defaultParallelism
    # Adaptive execution does not apply to streaming queries (Spark turns it off for each, with a
    # warning). Off for the whole session while the stream runs, it is off for the sinks' small
    # jobs and the customer lookup's builds too.
    session_conf = {**STATE_CONF, "spark.sql.shuffle.partitions": str(partitions),
                    "spark.sql.adaptive.enabled": "false"}
    before: dict[str, str | None] = {key: spark.conf.get(key, None) for key in session_conf}
    report = StreamReport()
    checkpoint = stream_path(config, config.stream.checkpoint_dir)
    lookup = LiveLookup(ctx, consent, consent_tables)
    keep_state_buckets(join_path(checkpoint, "decisions"), config.stream.state_buckets)
    starters = [lambda: _decision_query(ctx, report, join_path(checkpoint, "decisions"), lookup, pseudonymize),
                lambda: _reject_query(ctx, report, join_path(checkpoint, "rejects"))]
    queries: list[StreamingQuery] = []
    try:
        for key, value in session_conf.items():
            spark.conf.set(key, value)
        queries += [start() for start in starters]
        _await(report, queries, starters, run_seconds, idle_seconds)
    finally:
        try:
            for query in reversed(queries):
                query.stop()
            lookup.release()
        finally:
            for key, earlier in before.items():
                if earlier is None:
                    spark.conf.unset(key)
                else:
                    spark.conf.set(key, earlier)
    report.lookup_builds = lookup.builds
    return report


def keep_state_buckets(checkpoint: str, buckets: int) -> None:
    """Note the state's bucket count beside a new checkpoint, and refuse to restart from one that
    started with another: every account would land in a bucket that has never seen it. (Spark
    keeps the partitions itself; the buckets are only a number in the state key's expression.)"""
    if is_uri(checkpoint):
        return  # object storage: the checkpoint's own metadata is Spark's to write
    noted = Path(checkpoint, "custseg_state.json")
    if noted.is_file():
        started = int(json.loads(noted.read_text(encoding="utf-8"))["state_buckets"])
        if started != buckets:
            raise ConfigError([f"stream.state_buckets is {buckets}, but the checkpoint {checkpoint} started with "
                               f"{started}: set it back to {started}, or start from a new stream.checkpoint_dir"])
        return
    noted.parent.mkdir(parents=True, exist_ok=True)
    noted.write_text(json.dumps({"state_buckets": buckets}) + "\n", encoding="utf-8")


def _events(ctx: JobContext) -> DataFrame:
    settings = ctx.config.stream
    landing = stream_path(ctx.config, settings.landing_dir)
    if settings.source == "files" and not is_uri(landing):
        Path(landing).mkdir(parents=True, exist_ok=True)
    return parse_events(read_raw(ctx.spark, settings, landing), events_source(ctx.config))


def _decision_query(ctx: JobContext, report: StreamReport, checkpoint: str, lookup: LiveLookup,
                    pseudonymize: Pseudonymizer) -> StreamingQuery:
    settings = ctx.config.stream
    events = _events(ctx).filter(F.col("reject_reason").isNull())
    watermarked = events.withWatermark("event_ts", f"{int(settings.watermark_seconds * 1000)} milliseconds")
    # The state is grouped by a hash bucket of the account (see custseg.stream.carts). Anonymous
    # events go to negative buckets of their session and are ignored there, not filtered out: a
    # filter would be pushed below the watermark, and anonymous traffic must move the clock too.
    buckets = F.lit(settings.state_buckets)
    state_key = (F.when(F.col("account_id").isNull(), -1 - F.pmod(F.xxhash64("session_id"), buckets))
                 .otherwise(F.pmod(F.xxhash64("account_id"), buckets)))
    keyed = (watermarked.join(F.broadcast(_prices(ctx)), "product_id", "left")
             .select(state_key.alias("state_key"), *INPUT_COLUMNS))
    processor = CartProcessor(settings.window_minutes, settings.idle_expiry_minutes, settings.recent_views,
                              dedupe_minutes=settings.window_minutes, watermark_seconds=settings.watermark_seconds)
    decided = keyed.groupBy("state_key").transformWithStateInPandas(processor, DECISION_SCHEMA, "Append", "EventTime")
    sink = DecisionSink(ctx.spark, ctx.config, ctx.store, ctx.run_id, checkpoint, lookup.current, _model(ctx),
                        report.on_decisions, pseudonymize)
    return (decided.writeStream.queryName("custseg_stream_decisions").foreachBatch(sink)
            .option("checkpointLocation", checkpoint).trigger(processingTime=f"{settings.trigger_seconds} seconds")
            .start())


def _reject_query(ctx: JobContext, report: StreamReport, checkpoint: str) -> StreamingQuery:
    sink = RejectSink(ctx.spark, ctx.config, ctx.store, ctx.run_id, checkpoint, report.on_rejects)
    return (_events(ctx).writeStream.queryName("custseg_stream_rejects").foreachBatch(sink)
            .option("checkpointLocation", checkpoint)
            .trigger(processingTime=f"{ctx.config.stream.trigger_seconds} seconds").start())


def _prices(ctx: JobContext) -> DataFrame:
    if ctx.table_exists("products_clean"):
        return ctx.read("products_clean").select("product_id", F.col("list_price").cast("double").alias("price"))
    schema = T.StructType([T.StructField("product_id", T.StringType()), T.StructField("price", T.DoubleType())])
    return ctx.spark.createDataFrame([], schema)


def _model(ctx: JobContext) -> Centres | None:
    """Stored centres (resume), else centres from the batch features, else None (first batch)."""
    stored = load_centres(ctx.store, ctx.config)
    if stored is not None or not ctx.table_exists("customer_features"):
        return stored
    return initial_from_history(ctx.read("customer_features"), ctx.config.stream.kmeans, ctx.config.stream.recent_views)


def _await(report: StreamReport, queries: list[StreamingQuery], starters: list[Callable[[], StreamingQuery]],
           run_seconds: float | None, idle_seconds: float | None) -> None:
    """Watch the queries; restart one whose Python worker timed out starting (from its checkpoint,
    so nothing is lost or repeated), at most MAX_RESTARTS times in all."""
    started = time.monotonic()
    restarts = 0
    ready = [False] * len(queries)  # a query is ready once it finished a batch since its (re)start
    last_busy: float | None = None  # idle time counts once every query finished a batch: start-up is not idleness
    seen: set[tuple[str, int, bool]] = set()
    while True:
        time.sleep(0.5)
        for index, query in enumerate(list(queries)):
            error = query.exception()
            if error is not None and restarts < MAX_RESTARTS and any(t in str(error) for t in TRANSIENT):
                restarts += 1
                log.warning("stream: %s: a Python worker did not start in time; restarting from its checkpoint",
                            query.name)
                queries[index] = query = starters[index]()
                ready[index] = False
                continue
            if error is not None:
                raise InputDataError(f"streaming query {query.name} stopped: {_first_line(error)}") from None
            if not query.isActive:
                return
            new = [p for p in query.recentProgress if (str(query.name), int(p["batchId"]), _ran(p)) not in seen]
            ready[index] = ready[index] or bool(new)
            for progress in new:
                seen.add((str(query.name), int(progress["batchId"]), _ran(progress)))
                if query is queries[0]:
                    _count(report, progress)
            status = query.status
            busy = status["isTriggerActive"] or status["isDataAvailable"]
            if busy or not all(ready) or any(int(p["numInputRows"] or 0) for p in new):
                last_busy = time.monotonic()
        now = time.monotonic()
        report.seconds = now - started
        if run_seconds is not None and now - started >= run_seconds:
            return
        if idle_seconds is not None and last_busy is not None and now - last_busy >= idle_seconds:
            return


def _ran(progress: Any) -> bool:
    """A micro-batch that ran, not a poll that found no input (reported under the next batch's id)."""
    return "addBatch" in progress["durationMs"]


def _count(report: StreamReport, progress: Any) -> None:
    if not _ran(progress):
        return
    report.batches += 1
    report.input_rows += int(progress["numInputRows"] or 0)
    report.batch_seconds.append(float(progress["durationMs"].get("triggerExecution", 0)) / 1000)
    report.dropped_by_watermark += sum(int(op["numRowsDroppedByWatermark"] or 0)
                                       for op in progress["stateOperators"] or [])


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
