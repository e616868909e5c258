"""`custseg stream` end to end on the live feed: detection against the feed's truth, consent,
rejects that never stop the stream, and a killed stream restarted from its checkpoint."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.jobs import stream as stream_job
from custseg.runtime import table_store
from custseg.stream import plan_feed, read_truth, stream_path, write_feed
from custseg.stream.query import STATE_CONF
from tests.conftest import PROJECT, config_at
from tests.stream_tables import PRODUCTS, batch_tables

CHANGELOG = "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled"
KEY = "stream-test-key-0123456789"
SETTINGS = ["stream.window_minutes=1", "stream.watermark_seconds=5", "stream.idle_expiry_minutes=2",
            "stream.stop_when_idle_seconds=5", "stream.feed.file_interval_seconds=0", "stream.max_files_per_trigger=1",
            "stream.state_buckets=2"]


def _stream_config(base_config: Config, root: Path, **stream_changes: object) -> Config:
    # The feed lands all its files at once; one file a micro-batch moves event time on batch by
    # batch, so the late file meets a watermark that has passed it and a killed stream has
    # decided some carts but not all. Two state buckets: accounts share them.
    stream = dataclasses.replace(base_config.stream, window_minutes=1.0, watermark_seconds=5.0,
                                 idle_expiry_minutes=2.0, stop_when_idle_seconds=5.0, max_files_per_trigger=1,
                                 state_buckets=2,
                                 feed=dataclasses.replace(base_config.stream.feed, file_interval_seconds=0.0),
                                 **stream_changes)
    return config_at(base_config, root, stream=stream)


def _feed(config: Config, carts: int, files: int) -> Path:
    window_ms = int(config.stream.window_minutes * 60_000)
    plan = plan_feed([f"W{i:03d}" for i in range(carts)], PRODUCTS,
                     dataclasses.replace(config.stream.feed, carts=carts), window_ms, 5_000, window_ms * 3)
    start = dt.datetime.fromisoformat(config.stream.feed.start)
    return write_feed(plan, stream_path(config, config.stream.landing_dir), files, start, 0.0)


def _activations(spark: SparkSession, config: Config) -> list[dict[str, object]]:
    return [r.asDict() for r in table_store(spark, config).read(Catalog(config).path("activations")).collect()]


@pytest.fixture(scope="module")
def detection_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the detection test streams; the realtime notebook then reads its activations."""
    return tmp_path_factory.mktemp("detection") / "root"


@pytest.fixture(autouse=True)
def privacy_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Activations carry the account as a keyed hash: the stream needs the key."""
    monkeypatch.setenv("CUSTSEG_PRIVACY_KEY", KEY)


def _account_key(account: str) -> str:
    return hmac.new(KEY.encode(), account.strip().lower().encode(), hashlib.sha256).hexdigest()


def test_stream_detects_every_abandoned_cart_once_and_rejects_bad_rows(
        spark: SparkSession, base_config: Config, detection_root: Path) -> None:
    config = _stream_config(base_config, detection_root)
    accounts = [f"W{i:03d}" for i in range(24)]
    batch_tables(spark, config, accounts)
    landing = Path(stream_path(config, config.stream.landing_dir))
    landing.mkdir(parents=True)
    (landing / "broken.json").write_text(
        'not json at all\n{"event_id": "x", "session_id": "s", "event_type": "checkout"}\n')
    os.utime(landing / "broken.json", (time.time() - 60, time.time() - 60))  # read first
    truth = read_truth(_feed(config, carts=24, files=5))
    late = {"event_id": "late-1", "account_id": "W001", "session_id": "z", "event_type": "add_to_cart",
            "product_id": "P1", "event_ts": config.stream.feed.start, "device": "web"}
    (landing / "zz-late.json").write_text(json.dumps(late) + "\n")
    os.utime(landing / "zz-late.json", (time.time() + 60, time.time() + 60))  # read last

    session_conf = {key: spark.conf.get(key, None)
                    for key in (*STATE_CONF, "spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled")}
    assert session_conf[CHANGELOG] != "true"
    result = stream_job.run(spark, config)
    assert {key: spark.conf.get(key, None) for key in session_conf} == session_conf  # the stream's settings undone

    rows = _activations(spark, config)
    fired = {r["account_key"]: r for r in rows}
    expected = {_account_key(str(c["account_id"])): c for c in truth if c["fires"]}
    assert len(rows) == len(fired) == len(expected) > 0  # once per cart
    assert set(fired) == set(expected)  # every abandoned cart fired, no checked-out or resumed cart did
    for key, cart in expected.items():
        row, account = fired[key], str(cart["account_id"])
        assert row["cart_id"].startswith(f"{key}-") and account not in str(row.values())  # no raw account id
        assert (row["cart_items"], row["cart_value"]) == (cart["cart_items"], cart["cart_value"])  # duplicates once
        expires = dt.datetime.fromisoformat(str(cart["expires_at"])).astimezone(dt.UTC).replace(tzinfo=None)
        assert row["window_expired_at"] == expires
        consented = int(account[1:]) % 2 == 0
        assert row["status"] == ("activated" if consented else "suppressed")
        assert row["suppression"] == (None if consented else "no_consent")
        assert row["customer_id"] == f"C{int(account[1:])}" and row["batch_segment"] == "High-value loyal"
    rejects = [r.asDict() for r in table_store(spark, config).read(Catalog(config).path("stream_rejects")).collect()]
    assert sorted(r["reason"] for r in rejects) == sorted(
        ["bad JSON", "missing required value: event_ts", "late: at or before the watermark"])
    assert next(r for r in rejects if r["event_id"] == "late-1")["watermark"] is not None
    assert result.metrics["decisions"] == str(len(expected))
    assert result.metrics["rejected"] == str(len(rejects))  # the one-pass count agrees with the rows written
    centres = table_store(spark, config).read(Catalog(config).path("stream_centres")).collect()
    assert len(centres) == config.stream.kmeans.k and {r["initialised_from"] for r in centres} == {"first_batch"}


def _start(root: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "custseg", "stream", "--conf-dir", str(PROJECT / "conf"),
               "--set", f"storage.root={root}", "--set", "spark.shuffle_partitions=2",
               "--set", "spark.driver_memory=1g"]
    for setting in SETTINGS:
        command += ["--set", setting]
    # Its own process group: the kill takes the driver and its JVM down together, as a crash would.
    with log.open("ab") as sink:  # a file, not a pipe: a full pipe would block the job
        return subprocess.Popen(command, cwd=PROJECT, start_new_session=True, stdout=sink, stderr=sink,
                                env={**os.environ, "CUSTSEG_PRIVACY_KEY": KEY})


def test_a_killed_stream_restarts_from_its_checkpoint_without_loss_or_duplicates(
        spark: SparkSession, base_config: Config, tmp_path: Path) -> None:
    from deltalake import DeltaTable

    config = _stream_config(base_config, tmp_path / "root")
    accounts = [f"W{i:03d}" for i in range(30)]
    batch_tables(spark, config, accounts)
    truth = read_truth(_feed(config, carts=30, files=12))
    expected = {str(c["account_id"]) for c in truth if c["fires"]}
    table = Catalog(config).path("activations")
    log = tmp_path / "stream.log"
    process = _start(tmp_path / "root", log)
    try:
        deadline = time.monotonic() + 600
        while not DeltaTable.is_deltatable(table) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    before = len(_activations(spark, config))
    assert 0 < before < len(expected)  # killed mid-stream, some carts decided, others not yet
    restarted = _start(tmp_path / "root", log)
    assert restarted.wait(timeout=900) == 0, log.read_text(errors="replace")[-3000:]
    rows = _activations(spark, config)
    assert len(rows) == len({r["activation_id"] for r in rows}) == len(expected)  # no duplicate, no loss
    assert {r["account_key"] for r in rows} == {_account_key(a) for a in expected}
    # The killed run committed `before` rows, the restarted one the rest: both wrote, nothing twice.
    assert len(DeltaTable(table).history()) >= 2


def test_realtime_notebook_runs_on_the_detected_activations(
        spark: SparkSession, base_config: Config, detection_root: Path, pytestconfig: pytest.Config,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests import notebook_check

    config = _stream_config(base_config, detection_root)
    if not Path(Catalog(config).path("activations")).is_dir():
        pytest.skip("reads what test_stream_detects_every_abandoned_cart_once_and_rejects_bad_rows wrote: run both")
    rows = _activations(spark, config)
    notebook = notebook_check.execute(notebook_check.kernel(pytestconfig, tmp_path_factory),
                                      notebook_check.NOTEBOOK_DIR / "realtime.py", str(detection_root))
    activated = sum(r["status"] == "activated" for r in rows)
    assert f"{len(rows):,} decisions, {activated:,} activated" in notebook_check.outputs_text(notebook)
