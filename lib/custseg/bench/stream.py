"""`custseg bench-stream` (``make bench-stream``): the live feed at steady rates through the stream.

For each rate, events stamped with the wall clock land in the landing folder as one file per
second, while `stream` runs at a 1 s trigger with a 10 s abandonment window and a 1 s watermark
delay. Reported: events offered and read per second, how long after the last file the stream
caught up (lag), micro-batch durations, and the latency from each cart's window expiry to its
activation row (``decided_at - window_expired_at``; it includes the watermark delay and the
up to 1 s a file waits for its slice to end). Results go to bench/results as JSON and markdown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.jobs import stream as stream_job
from custseg.runtime import table_store
from custseg.session import build_spark_session
from custseg.stream.feed import plan_feed, write_feed
from custseg.stream.query import stream_path

WINDOW_SECONDS = 10.0
# A micro-batch takes every file landed since the last (up to this many): at the default of one
# file a trigger the stream falls behind any feed faster than its batches.
BENCH_FILES_PER_TRIGGER = 100
EVENTS_PER_CART = 5.3  # the feed's script: session start, a view, 1-3 adds (some twice), maybe a checkout


def main(config: Config, rates: list[int], seconds: float, output_dir: str) -> int:
    # Activations carry keyed hashes of accounts; the bench's tables are temporary, so without a
    # key of the user's a throwaway one serves.
    if config.privacy.key_env and not config.privacy.key_file:
        os.environ.setdefault(config.privacy.key_env, secrets.token_hex(32))
    spark = build_spark_session(config, app_name="custseg-bench-stream")
    results = []
    try:
        for rate in rates:
            with tempfile.TemporaryDirectory(prefix=f"bench-stream-{rate}-") as root:
                results.append(run_rate(spark, config, rate, seconds, Path(root)))
                print(json.dumps(results[-1]))
    finally:
        spark.stop()
    _write(results, Path(output_dir))
    return 0


def run_rate(spark: Any, config: Config, rate: int, seconds: float, root: Path) -> dict[str, Any]:
    stream = dataclasses.replace(
        config.stream, source="files", window_minutes=WINDOW_SECONDS / 60, watermark_seconds=1.0, trigger_seconds=1.0,
        idle_expiry_minutes=1.0, max_files_per_trigger=BENCH_FILES_PER_TRIGGER, run_seconds=None,
        stop_when_idle_seconds=15.0,
        webhook=dataclasses.replace(config.stream.webhook, url=None))
    cfg = config.with_overrides(storage=dataclasses.replace(config.storage, root=str(root)), stream=stream)
    carts = max(1, int(rate * seconds / EVENTS_PER_CART))
    feed = dataclasses.replace(stream.feed, carts=carts, seed=rate)
    plan = plan_feed([f"B{i:07d}" for i in range(carts)], [(f"P{i}", 5.0 + i) for i in range(100)], feed,
                     int(WINDOW_SECONDS * 1000), 1000, int(seconds * 1000))
    landing = stream_path(cfg, stream.landing_dir)
    ready = Path(stream_path(cfg, stream.checkpoint_dir)) / "decisions" / "commits" / "0"
    timing: dict[str, float] = {}

    def play() -> None:
        # Warm-up: one anonymous event through the whole pipeline; timing starts once it committed.
        Path(landing).mkdir(parents=True, exist_ok=True)
        warm = {"event_id": "warm-up", "account_id": None, "session_id": "warm-up", "event_type": "session_start",
                "product_id": None, "device": "web", "event_ts": dt.datetime.now(dt.UTC).isoformat()}
        (Path(landing) / "warm-up.json").write_text(json.dumps(warm) + "\n", encoding="utf-8")
        while not ready.exists():
            time.sleep(0.2)
        timing["feed_started"] = time.time()
        write_feed(plan, landing, files=int(plan.span_ms // 1000) + 1, start=None, file_interval_seconds=1.0)
        timing["feed_ended"] = time.time()

    player = threading.Thread(target=play, daemon=True)
    player.start()
    result = stream_job.run(spark, cfg)
    player.join(timeout=5)
    activations = table_store(spark, cfg).read(Catalog(cfg).path("activations"))
    latency = np.array([r[0] for r in activations.select(
        (F.unix_millis("decided_at") - F.unix_millis("window_expired_at")).alias("ms")).collect()], dtype=float) / 1000
    events = len(plan.events)
    feed_seconds = timing.get("feed_ended", 0) - timing.get("feed_started", 0)
    return {
        "rate_events_per_s": rate, "seconds": seconds, "events": events, "carts": carts,
        "abandoned_expected": sum(bool(c["fires"]) for c in plan.truth), "decisions": int(result.metrics["decisions"]),
        "events_read": int(result.metrics["input_rows"]),
        "offered_events_per_s": round(events / feed_seconds, 1) if feed_seconds else None,
        "sustained_events_per_s": round(int(result.metrics["input_rows"]) / feed_seconds, 1) if feed_seconds else None,
        "lag_after_feed_s": _lag(result.ended_at.timestamp(), timing.get("feed_ended"), stream.stop_when_idle_seconds),
        "latency_p50_s": _q(latency, 50), "latency_p95_s": _q(latency, 95), "latency_p99_s": _q(latency, 99),
        "batches": int(result.metrics["batches"]), "trigger_s": 1.0, "window_s": WINDOW_SECONDS, "watermark_s": 1.0,
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()})",
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _lag(ended: float, feed_ended: float | None, idle_seconds: float | None) -> float | None:
    """Seconds the stream still worked after the last file landed (its idle wait taken off)."""
    return None if feed_ended is None else round(ended - feed_ended - (idle_seconds or 0.0), 1)


def _q(values: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if len(values) else None


def _write(results: list[dict[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    (out / f"stream-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    lines = ["# Stream benchmark (`make bench-stream`)", "",
             f"Live feed at steady rates, 1 s trigger, up to {BENCH_FILES_PER_TRIGGER} files a micro-batch, "
             "10 s window,",
             "1 s watermark delay, local[2]. Latency runs from a cart's window expiry (event time = wall time here)",
             "to its activation row.", "",
             "| events/s offered | events/s read | lag after feed (s) | decisions / expected "
             "| p50 (s) | p95 (s) | p99 (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['offered_events_per_s']} | {r['sustained_events_per_s']} | {r['lag_after_feed_s']} | "
                     f"{r['decisions']} / {r['abandoned_expected']} | {r['latency_p50_s']} | {r['latency_p95_s']} | "
                     f"{r['latency_p99_s']} |")
    lines += ["", f"Measured {results[0]['at'] if results else ''} on {results[0]['machine'] if results else ''}."]
    (out / "STREAM.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
