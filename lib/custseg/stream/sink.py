"""Micro-batch sinks (``foreachBatch``) that write each batch exactly once.

Every table write of batch ``b`` is one Delta commit tagged with the transaction (app id of the
query, ``b``): a batch replayed after a crash finds its commit already there and adds nothing
(``TableStore.write_once``). The app id carries the query id, which the checkpoint keeps across
restarts, so a new checkpoint starts a new sequence rather than being mistaken for a replay.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog, conform
from custseg.config import Config
from custseg.config.model import STREAM_FEATURES, WebhookSettings
from custseg.delta import CommitInfo, TableStore
from custseg.stream.decide import Pseudonymizer, decide
from custseg.stream.kmeans import Centres, initial_from_points, labels, update_from_frame, with_cluster

log = logging.getLogger(__name__)


def query_id(checkpoint_dir: str) -> str:
    """The id Spark keeps in a query's checkpoint (written before its first batch)."""
    return str(json.loads(Path(checkpoint_dir, "metadata").read_text(encoding="utf-8"))["id"])


class DecisionSink:
    """Scores, routes and records each micro-batch of abandoned carts; updates the online model."""

    def __init__(self, spark: SparkSession, config: Config, store: TableStore, run_id: str, checkpoint_dir: str,
                 lookup: Callable[[], DataFrame], model: Centres | None, on_batch: Callable[[dict[str, Any]], None],
                 pseudonymize: Pseudonymizer):
        self.spark, self.config, self.store, self.run_id = spark, config, store, run_id
        self.catalog = Catalog(config)
        self.checkpoint_dir = checkpoint_dir
        self.lookup = lookup  # the customer lookup as of now, for each batch
        self.pseudonymize = pseudonymize
        self.model = model
        self.on_batch = on_batch

    def __call__(self, decisions_df: DataFrame, batch_id: int) -> None:
        _logged(self._batch, decisions_df, batch_id)

    def _batch(self, decisions_df: DataFrame, batch_id: int) -> None:
        settings = self.config.stream
        decisions_df.persist()
        try:
            if decisions_df.isEmpty():
                return
            qid = query_id(self.checkpoint_dir)
            info = CommitInfo(job="stream", run_id=self.run_id, transaction=(f"custseg-stream-{qid}", batch_id))
            model = self.model or initial_from_points(_points(decisions_df), settings.kmeans)
            activations = self.catalog.path("activations")
            prior = self.store.read(activations) if self.store.exists(activations) else None
            rows = decide(decisions_df, model, settings, self.lookup(), prior, batch_id, qid, self.pseudonymize)
            spec = self.catalog.spec("activations")
            written = self.store.write_once(activations, conform(rows, spec), info)
            summary = {"batch_id": batch_id, "decisions": 0, "activated": 0, "replayed": written is None}
            if written is not None:
                committed = self.store.read(activations, version=written).filter(F.col("batch_id") == batch_id)
                by_status = committed.groupBy("status").agg(F.count("*").alias("n")).collect()  # two rows at most
                counts = {r["status"]: r["n"] for r in by_status}
                summary.update(decisions=sum(counts.values()), activated=counts.get("activated", 0))
                if settings.webhook.url:
                    self._post(committed, settings.webhook, info, batch_id)
            self._update_model(decisions_df, model, info, batch_id)
            self.on_batch(summary)
        finally:
            decisions_df.unpersist()

    def _update_model(self, decisions_df: DataFrame, model: Centres, info: CommitInfo, batch_id: int) -> None:
        path = self.catalog.path("stream_centres")
        assert info.transaction is not None
        done = self.store.transaction_version(path, info.transaction[0])
        if done is not None and done >= batch_id:
            return  # a replayed batch: the stored centres already hold it
        updated = update_from_frame(model, with_cluster(decisions_df, model), self.config.stream.kmeans.decay, batch_id)
        self.store.write_once(path, centres_frame(self.spark, updated, self.config), info, mode="overwrite")
        self.model = updated

    def _post(self, committed: DataFrame, webhook: WebhookSettings, info: CommitInfo, batch_id: int) -> None:
        """POST each activation of the batch (bounded by the batch) as JSON; failures after every retry
        go to activation_dead_letters."""
        failures = []
        for row in committed.filter(F.col("status") == "activated").collect():
            payload = json.dumps(row.asDict(), default=str, sort_keys=True)
            attempts, error = post_with_retries(str(webhook.url), payload, webhook)
            if error is not None:
                failures.append((row["activation_id"], str(webhook.url), payload, attempts, error,
                                 dt.datetime.now(dt.UTC), batch_id))
        if failures:
            spec = self.catalog.spec("activation_dead_letters")
            frame = self.spark.createDataFrame(failures, spec.schema)
            self.store.write_once(self.catalog.path("activation_dead_letters"), frame, info)


def _logged(body: Callable[[DataFrame, int], None], df: DataFrame, batch_id: int) -> None:
    """Run a batch; log a failure here in full, as Spark passes on only a shortened message."""
    try:
        body(df, batch_id)
    except Exception:
        log.exception("stream: micro-batch %s failed", batch_id)
        raise


def post_with_retries(url: str, payload: str, webhook: WebhookSettings) -> tuple[int, str | None]:
    """POST ``payload``; retry with exponential backoff. Returns (attempts, last error or None)."""
    error: str | None = None
    for attempt in range(1, webhook.retries + 2):
        request = urllib.request.Request(url, data=payload.encode("utf-8"), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=webhook.timeout_seconds) as response:
                if 200 <= response.status < 300:
                    return attempt, None
                error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            error = str(getattr(exc, "reason", exc))
        if attempt <= webhook.retries:
            time.sleep(webhook.backoff_seconds * 2 ** (attempt - 1))
    return webhook.retries + 1, error


class RejectSink:
    """Writes malformed rows and late events of each batch to stream_rejects.

    Late means what the decision query's watermark drops: an event time at or before the latest
    event time of the earlier batches minus the watermark delay. This query reads the same
    files one trigger at a time, so it sees the batches the decision query sees; the running
    maximum is kept beside its checkpoint, written after each batch's commit.
    """

    def __init__(self, spark: SparkSession, config: Config, store: TableStore, run_id: str, checkpoint_dir: str,
                 on_batch: Callable[[dict[str, Any]], None]):
        self.spark, self.config, self.store, self.run_id = spark, config, store, run_id
        self.catalog = Catalog(config)
        self.checkpoint_dir = checkpoint_dir
        self.state_file = Path(checkpoint_dir) / "latest_event_time.json"
        self.on_batch = on_batch

    def __call__(self, parsed_df: DataFrame, batch_id: int) -> None:
        _logged(self._batch, parsed_df, batch_id)

    def _batch(self, parsed_df: DataFrame, batch_id: int) -> None:
        parsed_df.persist()
        try:
            latest_ms = self._latest_before(batch_id)
            delay_ms = int(self.config.stream.watermark_seconds * 1000)
            watermark = None if latest_ms is None else F.timestamp_millis(F.lit(latest_ms - delay_ms))
            is_late = F.lit(False) if watermark is None else F.col("event_ts") <= watermark
            good = F.col("reject_reason").isNull()
            rejected = ~good | is_late
            rejects = parsed_df.filter(rejected).select(
                "origin", F.col("value").alias("raw_record"), "event_id", "event_ts",
                F.coalesce(F.col("reject_reason"), F.lit("late: at or before the watermark")).alias("reason"),
                (F.lit(None).cast("timestamp") if watermark is None else F.when(good, watermark)).alias("watermark"),
                F.current_timestamp().alias("rejected_at"), F.lit(batch_id).cast("bigint").alias("batch_id"))
            # One pass for both figures: on a busy stream this query shares the cores with the decisions.
            batch_figures = parsed_df.agg(F.count(F.when(rejected, 1)).alias("rejected"),
                                          F.max(F.when(good, F.unix_millis("event_ts"))).alias("latest_ms")).first()
            count = int(batch_figures["rejected"]) if batch_figures is not None else 0
            if count:
                info = CommitInfo(job="stream", run_id=self.run_id,
                                  transaction=(f"custseg-stream-rejects-{query_id(self.checkpoint_dir)}", batch_id))
                spec = self.catalog.spec("stream_rejects")
                self.store.write_once(self.catalog.path("stream_rejects"), conform(rejects, spec), info)
            if batch_figures is not None and batch_figures["latest_ms"] is not None:
                batch_max = int(batch_figures["latest_ms"])
                self._save(batch_id, max(batch_max, latest_ms or batch_max))
            self.on_batch({"batch_id": batch_id, "rejected": count})
        finally:
            parsed_df.unpersist()

    def _latest_before(self, batch_id: int) -> int | None:
        if not self.state_file.is_file():
            return None
        saved = json.loads(self.state_file.read_text(encoding="utf-8"))
        # A replayed batch must not see its own events: keep the value from before it.
        return saved["previous_ms"] if saved["batch_id"] >= batch_id else saved["latest_ms"]

    def _save(self, batch_id: int, latest_ms: int) -> None:
        previous = self._latest_before(batch_id)
        hidden = self.state_file.with_suffix(".tmp")
        hidden.write_text(json.dumps({"batch_id": batch_id, "latest_ms": latest_ms, "previous_ms": previous}))
        hidden.replace(self.state_file)


def centres_frame(spark: SparkSession, model: Centres, config: Config) -> DataFrame:
    spec = Catalog(config).spec("stream_centres")
    names = labels(model, config.stream.kmeans)
    now = dt.datetime.now(dt.UTC)
    rows = [(i, names[i], [float(x) for x in model.centres[i]], float(model.weights[i]),
             [float(x) for x in model.scale], list(model.features), model.initialised_from, model.batch_id, now)
            for i in range(model.k)]
    return spark.createDataFrame(rows, spec.schema)


def load_centres(store: TableStore, config: Config) -> Centres | None:
    """The latest stored centres (a restart resumes from them), or None."""
    path = Catalog(config).path("stream_centres")
    if not store.exists(path):
        return None
    rows: list[Row] = sorted(store.read(path).collect(), key=lambda r: r["cluster"])  # k rows
    if len(rows) != config.stream.kmeans.k:
        return None  # k changed in config: start again from history
    return Centres(np.array([r["centre"] for r in rows]), np.array([r["weight"] for r in rows]),
                   np.array(rows[0]["scale"]), rows[0]["initialised_from"], int(rows[0]["batch_id"]),
                   tuple(rows[0]["features"]))


def _points(decisions_df: DataFrame) -> np.ndarray:
    """Feature rows of a first batch (bounded by the batch), to seed centres without history."""
    return np.array([[float(r[f]) for f in STREAM_FEATURES] for r in decisions_df.select(*STREAM_FEATURES).collect()])

