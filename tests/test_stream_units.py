"""Units of the real-time layer: online k-means against a reference, cart state, routing,
consent per channel (kept current while the stream runs) and frequency caps, parsing rejects,
the Kafka sentence, write-once commits, webhook."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from custseg import summary
from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.model import FeedSettings, RoutingRule, WebhookSettings
from custseg.delta import CommitInfo, TableStore
from custseg.errors import EnvironmentProblem
from custseg.governance.consent import CONSENT_INPUTS, current_states
from custseg.jobs import consent as consent_job
from custseg.jobs import stream as stream_job
from custseg.runtime import JobContext, table_store
from custseg.stream import carts, decide, feed, kmeans, lookup, query, sink, sources
from tests.stream_tables import batch_tables

FEATURES = kmeans.STREAM_FEATURES


def _model(centres: list[list[float]], weights: list[float]) -> kmeans.Centres:
    return kmeans.Centres(np.array(centres, dtype=float), np.array(weights, dtype=float),
                          np.array([50.0, 1.0, 5.0, 2.0]), "test")


def test_minibatch_update_matches_hand_computed_reference() -> None:
    model = _model([[20, 1, 5, 1], [200, 3, 20, 4]], [10, 4])
    points = np.array([[30, 1, 6, 1], [10, 1, 4, 1], [220, 2, 30, 5]], dtype=float)
    updated = kmeans.update(model, points, decay=0.5, batch_id=3)
    # cluster 0: (0.5*10*c0 + p0 + p1) / (5 + 2); cluster 1: (0.5*4*c1 + p2) / (2 + 1)
    expected0 = (5 * np.array([20, 1, 5, 1]) + points[0] + points[1]) / 7
    expected1 = (2 * np.array([200, 3, 20, 4]) + points[2]) / 3
    np.testing.assert_allclose(updated.centres, [expected0, expected1])
    np.testing.assert_allclose(updated.weights, [7, 3])
    assert updated.batch_id == 3
    untouched = kmeans.update(model, points[:1], decay=0.5, batch_id=4)
    np.testing.assert_allclose(untouched.centres[1], model.centres[1])  # no point: the centre stays, weight decays
    assert untouched.weights[1] == pytest.approx(2.0)


def test_spark_assignment_and_update_equal_the_numpy_reference(spark: SparkSession) -> None:
    model = _model([[20, 1, 5, 1], [200, 3, 20, 4], [90, 2, 60, 0]], [3, 2, 1])
    rng = np.random.default_rng(5)
    points = np.column_stack([rng.uniform(0, 250, 40), rng.integers(1, 4, 40), rng.uniform(0, 70, 40),
                              rng.integers(0, 6, 40)]).astype(float)
    frame = spark.createDataFrame([tuple(float(x) for x in p) for p in points], list(FEATURES))
    assigned = kmeans.with_cluster(frame, model)
    spark_nearest = [r["cluster"] for r in assigned.collect()]
    assert spark_nearest == list(kmeans.assign(model, points))
    spark_model = kmeans.update_from_frame(model, assigned, 0.8, 1)
    reference = kmeans.update(model, points, 0.8, 1)
    np.testing.assert_allclose(spark_model.centres, reference.centres)
    np.testing.assert_allclose(spark_model.weights, reference.weights)


def test_labels_follow_the_rule_over_the_centres(base_config: Config) -> None:
    rule = base_config.stream.kmeans  # cart_value >= 100
    assert kmeans.labels(_model([[20, 1, 5, 1], [150, 3, 20, 4]], [1, 1]), rule) == [kmeans.LOW_RISK, kmeans.HIGH_RISK]
    moved = kmeans.update(_model([[20, 1, 5, 1], [150, 3, 20, 4]], [1, 1]), np.array([[40.0, 3, 20, 4]] * 9), 1.0, 1)
    assert kmeans.labels(moved, rule) == [kmeans.LOW_RISK, kmeans.LOW_RISK]  # the centre moved below 100


def test_first_batch_initialisation_spreads_the_centres(base_config: Config) -> None:
    points = np.array([[10, 1, 1, 0], [12, 1, 1, 0], [300, 4, 30, 5]], dtype=float)
    model = kmeans.initial_from_points(points, base_config.stream.kmeans)
    assert sorted(model.centres[:, 0].tolist()) in ([10.0, 300.0], [12.0, 300.0])
    single = kmeans.initial_from_points(points[:1], base_config.stream.kmeans)
    assert single.k == 2 and single.weights.tolist() == [1.0, 0.0]  # padded to k


def _event(kind: str, product: str | None = None, price: float | None = None, session: str = "s1") -> SimpleNamespace:
    return SimpleNamespace(event_type=kind, product_id=product, price=price, session_id=session, device="ios")


def test_cart_state_adds_removes_and_checks_out() -> None:
    state = {"cart_no": 0, "items_json": "{}", "last_cart_ms": 0, "session_id": None, "session_start_ms": 0,
             "last_event_ms": 0, "device": None, "views": ""}
    carts.apply_event(state, _event("session_start"), 1_000, 2)
    for ms, product in ((2_000, "A"), (3_000, "B"), (4_000, "C")):
        carts.apply_event(state, _event("product_view", product), ms, 2)
    carts.apply_event(state, _event("add_to_cart", "A", 10.0), 5_000, 2)
    carts.apply_event(state, _event("add_to_cart", "A", 10.0), 6_000, 2)
    carts.apply_event(state, _event("add_to_cart", "B", 5.5), 7_000, 2)
    carts.apply_event(state, _event("remove_from_cart", "A"), 8_000, 2)
    row = dict(zip(carts.DECISION_COLUMNS, carts.abandoned_cart("acc", state, carts.json.loads(state["items_json"]),
                                                                 99_000), strict=True))
    assert row["cart_id"] == "acc-1" and row["cart_value"] == 15.5 and row["cart_items"] == 2
    assert row["recent_views"] == 2 and state["views"] == "B,C" and row["last_cart_ms"] == 8_000
    assert row["session_minutes"] == pytest.approx(7_000 / 60_000)
    carts.apply_event(state, _event("checkout"), 9_000, 2)
    assert state["items_json"] == "{}"
    carts.apply_event(state, _event("add_to_cart", "C", 1.0), 10_000, 2)
    assert state["cart_no"] == 2  # a new cart after the checkout


def test_a_cart_is_decided_before_a_later_event_only_once_no_event_can_save_it() -> None:
    """Within one micro-batch the events after a cart's expiry come before its timer could fire.
    The cart is decided first when its expiry is behind the watermark or the event is past the
    expiry by the watermark delay (a checkout still to come would be late); before that, a late
    checkout may still arrive, and the cart stays open."""
    processor = carts.CartProcessor(window_minutes=1.0, idle_expiry_minutes=5.0, recent_views=2, dedupe_minutes=1.0,
                                    watermark_seconds=5.0)

    def open_cart() -> dict[str, object]:
        state = dict(carts.EMPTY_STATE)
        carts.apply_event(state, _event("add_to_cart", "A", 10.0), 5_000, 2)
        return state

    state = open_cart()  # expiry at 65 s
    assert processor._lapsed_cart("acc", state, 64_999, watermark_ms=0) is None  # inside the window
    assert processor._lapsed_cart("acc", state, 69_999, watermark_ms=64_999) is None  # a late checkout may come
    row = dict(zip(carts.DECISION_COLUMNS, processor._lapsed_cart("acc", state, 70_000, watermark_ms=0), strict=True))
    assert (row["cart_id"], row["cart_items"], row["expired_ms"]) == ("acc-1", 1, 65_000)
    assert state["items_json"] == "{}" and processor._lapsed_cart("acc", state, 200_000, watermark_ms=0) is None
    carts.apply_event(state, _event("add_to_cart", "B", 2.0), 70_000, 2)
    assert state["cart_no"] == 2  # the later event starts the next cart
    due = open_cart()
    assert processor._lapsed_cart("acc", due, 66_000, watermark_ms=65_000) is not None  # the timer is due


class _FakeHandle:
    """The state calls a processor makes, each a round trip to the state server under Spark
    (a map's iterator fetches its entries in batches: one call here)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.timers: set[int] = set()
        self.bucket: tuple[object, ...] | None = None
        self.accounts: dict[tuple[str, ...], tuple[object, ...]] = {}

    def getValueState(self, name: str, schema: object) -> SimpleNamespace:  # noqa: N802 (Spark's names)
        def update(value: tuple[object, ...]) -> None:
            self.calls.append("bucket.update")
            self.bucket = value

        def clear() -> None:
            self.calls.append("bucket.clear")
            self.bucket = None

        def get() -> tuple[object, ...] | None:
            self.calls.append("bucket.get")
            return self.bucket

        return SimpleNamespace(get=get, update=update, clear=clear)

    def getMapState(self, name: str, key_schema: object, schema: object) -> SimpleNamespace:  # noqa: N802
        def get(key: tuple[str, ...]) -> tuple[object, ...] | None:
            self.calls.append("get")
            return self.accounts.get(key)

        def update(key: tuple[str, ...], value: tuple[object, ...]) -> None:
            self.calls.append("update")
            self.accounts[key] = value

        def remove(key: tuple[str, ...]) -> None:
            self.calls.append("remove")
            del self.accounts[key]

        def iterator() -> Iterator[tuple[tuple[str, ...], tuple[object, ...]]]:
            self.calls.append("iterate")
            yield from self.accounts.items()  # live, as Spark's: a removal while iterating fails here

        return SimpleNamespace(getValue=get, updateValue=update, removeKey=remove, iterator=iterator)

    def registerTimer(self, ms: int) -> None:  # noqa: N802
        self.calls.append("register")
        self.timers.add(ms)

    def deleteTimer(self, ms: int) -> None:  # noqa: N802
        self.calls.append("delete")
        self.timers.remove(ms)

    def state(self, account: str) -> dict[str, object]:
        return dict(zip(carts.STATE_SCHEMA.fieldNames(), self.accounts[(account,)], strict=True))

    def fire(self, processor: carts.CartProcessor, ms: int) -> list[dict[str, object]]:
        """Fire the bucket's timer due at ``ms`` as Spark does once the watermark reached it."""
        assert ms in self.timers
        self.calls.clear()
        timer = SimpleNamespace(getExpiryTimeInMs=lambda: ms)
        values = SimpleNamespace(getCurrentWatermarkInMs=lambda: ms)
        rows = [row for frame in processor.handleExpiredTimer((7,), values, timer)  # type: ignore[arg-type]
                for row in frame.to_dict("records")]
        self.timers.discard(ms)  # as Spark does once the processor is done: a timer set for then goes too
        return rows


def _batch(processor: carts.CartProcessor, handle: _FakeHandle, watermark_ms: int,
           events: list[tuple[str, int, str, str | None]], account: str = "acc") -> list[dict[str, object]]:
    """One micro-batch of a bucket; an event's account is ``account`` unless its id names one
    (``"other:e1"``)."""
    import pandas as pd

    frame = pd.DataFrame([{"account_id": event_id.split(":")[0] if ":" in event_id else account, "event_id": event_id,
                           "event_ts": pd.Timestamp(ms, unit="ms"), "event_type": kind, "session_id": "s1",
                           "product_id": product, "device": "web", "price": 10.0}
                          for event_id, ms, kind, product in events])
    handle.calls.clear()
    timer_values = SimpleNamespace(getCurrentWatermarkInMs=lambda: watermark_ms)
    return [row for out in processor.handleInputRows((7,), iter([frame]), timer_values)  # type: ignore[arg-type]
            for row in out.to_dict("records")]


def test_an_accounts_batch_costs_one_read_and_one_write_and_its_bucket_a_timer_move_at_most() -> None:
    processor = carts.CartProcessor(window_minutes=1.0, idle_expiry_minutes=5.0, recent_views=2, dedupe_minutes=1.0,
                                    watermark_seconds=5.0)
    handle = _FakeHandle()
    processor.init(handle)  # type: ignore[arg-type]
    assert _batch(processor, handle, 0, [("e1", 5_000, "add_to_cart", "A")]) == []
    assert handle.calls == ["bucket.get", "get", "update", "register", "bucket.update"]
    assert handle.timers == {65_000}  # the cart's expiry (the idle sweep is due later)
    assert _batch(processor, handle, 0, [("e1", 5_000, "add_to_cart", "A"), ("e2", 10_000, "add_to_cart", "B")]) == []
    assert handle.calls == ["bucket.get", "get", "update", "delete", "register", "bucket.update"]  # expiry moved
    assert handle.timers == {70_000}
    assert _batch(processor, handle, 0, [("e2", 10_000, "add_to_cart", "B")]) == []  # a redelivery changes nothing
    assert handle.calls == ["bucket.get", "get", "update", "bucket.update"] and handle.timers == {70_000}
    # Two accounts of the bucket in one batch: a read and a write each, one timer for both.
    assert _batch(processor, handle, 0, [("b:f1", 20_000, "add_to_cart", "C"), ("c:g1", 21_000, "product_view", "D")]) \
        == []
    assert handle.calls == ["bucket.get", "get", "get", "update", "update", "bucket.update"]
    (decision,) = handle.fire(processor, 70_000)
    assert (decision["cart_items"], decision["cart_value"], decision["expired_ms"]) == (2, 20.0, 70_000)
    # the next due time is account b's cart expiry; the fired timer is Spark's to delete
    assert handle.calls == ["bucket.get", "get", "update", "register", "bucket.update"] and handle.timers == {80_000}
    assert handle.state("acc")["items_json"] == "{}"


def test_a_cart_is_decided_in_the_batch_that_proves_it_abandoned_without_waiting_for_its_timer() -> None:
    """Another account's event in the same bucket, later than the cart's expiry by the watermark
    delay, proves the next watermark passes the expiry: the cart is decided now, once."""
    processor = carts.CartProcessor(window_minutes=1.0, idle_expiry_minutes=5.0, recent_views=2, dedupe_minutes=1.0,
                                    watermark_seconds=5.0)
    handle = _FakeHandle()
    processor.init(handle)  # type: ignore[arg-type]
    _batch(processor, handle, 0, [("e1", 5_000, "add_to_cart", "A")])
    assert _batch(processor, handle, 0, [("b:f1", 69_999, "product_view", "C")]) == []  # a checkout may still come
    (decision,) = _batch(processor, handle, 0, [("b:f2", 70_000, "product_view", "C")])
    assert (decision["account_id"], decision["expired_ms"]) == ("acc", 65_000)
    assert handle.calls == ["bucket.get", "get", "get", "update", "update", "delete", "register", "bucket.update"]
    assert _batch(processor, handle, 0, [("b:f3", 90_000, "product_view", "C")]) == []  # decided once
    # the same cart in a replay whose batches hold everything at once: the same decision
    replay = _FakeHandle()
    processor.init(replay)  # type: ignore[arg-type]
    (again,) = _batch(processor, replay, 0, [("e1", 5_000, "add_to_cart", "A"), ("b:f2", 70_000, "product_view", "C")])
    assert again == decision


def test_which_accounts_share_a_bucket_never_changes_a_decision() -> None:
    """The same events, with a later event of another account in the cart's bucket or not: the
    carts decided are the same, only sooner. Late events (at or before the watermark, which
    Spark's own filter can let through) never reopen or save a cart."""
    processor = carts.CartProcessor(window_minutes=1.0, idle_expiry_minutes=5.0, recent_views=2, dedupe_minutes=1.0,
                                    watermark_seconds=5.0)

    def decided(batches: list[tuple[int, list[tuple[str, int, str, str | None]]]]) -> list[tuple[object, ...]]:
        handle = _FakeHandle()
        processor.init(handle)  # type: ignore[arg-type]
        rows = []
        for watermark, events in batches:
            rows += _batch(processor, handle, watermark, events) if events else []
            for due in sorted(t for t in handle.timers if t <= watermark):  # timers fire after the input
                rows += handle.fire(processor, due)
        return sorted((r["cart_id"], r["cart_items"], r["expired_ms"]) for r in rows)

    cart = (0, [("e1", 5_000, "add_to_cart", "A")])
    for neighbour in ("b", "x"):  # b shares the bucket; x stands for an account in another bucket
        tenant = [(f"{neighbour}:f1", 70_000, "product_view", "C")] if neighbour == "b" else []
        # an add between the expiry (65 s) and the expiry plus the delay joins the cart either way
        joined = decided([cart, (0, [("e2", 66_000, "add_to_cart", "B"), *tenant]), (125_000, []), (200_000, [])])
        assert joined == [("acc-1", 2, 126_000)]
        # a checkout before the expiry that comes once the watermark passed it is late: abandoned either way
        late = decided([cart, (0, tenant), (65_000, [("e3", 64_000, "checkout", None)]), (200_000, [])])
        assert late == [("acc-1", 1, 65_000)]
    # a redelivery after the account was dropped idle is late too: nothing is decided again
    handle = _FakeHandle()
    processor.init(handle)  # type: ignore[arg-type]
    _batch(processor, handle, 0, [("e1", 5_000, "add_to_cart", "A"), ("e2", 6_000, "checkout", None),
                                  ("b:f1", 400_000, "product_view", "C")])
    assert ("acc",) not in handle.accounts  # idle by the batch's own proof (400 s less the delay)
    assert _batch(processor, handle, 395_000, [("e1", 5_000, "add_to_cart", "A")]) == []
    assert ("acc",) not in handle.accounts


def test_idle_accounts_are_dropped_at_the_buckets_sweep_and_the_bucket_with_the_last() -> None:
    processor = carts.CartProcessor(window_minutes=1.0, idle_expiry_minutes=4.0, recent_views=2, dedupe_minutes=1.0,
                                    watermark_seconds=5.0)
    handle = _FakeHandle()
    processor.init(handle)  # type: ignore[arg-type]
    _batch(processor, handle, 0, [("e1", 5_000, "product_view", "A"), ("b:f1", 50_000, "product_view", "B")])
    assert handle.timers == {245_000}  # the first account's idle expiry: 5 s + 4 min
    assert handle.fire(processor, 245_000) == []
    assert handle.calls == ["bucket.get", "iterate", "remove", "register", "bucket.update"]
    assert set(handle.accounts) == {("b",)}
    assert handle.timers == {305_000}  # b is idle at 290 s, but the next sweep waits a quarter of the expiry
    assert handle.fire(processor, 305_000) == []
    assert handle.calls == ["bucket.get", "iterate", "remove", "bucket.clear"]
    assert handle.accounts == {} and handle.bucket is None and handle.timers == set()
    # idle as its cart expires (idle expiry = window, no event after the cart's last): decided, then dropped
    brief = carts.CartProcessor(window_minutes=1.0, idle_expiry_minutes=1.0, recent_views=2, dedupe_minutes=1.0,
                                watermark_seconds=5.0)
    brief.init(handle)  # type: ignore[arg-type]
    _batch(brief, handle, 0, [("f1", 5_000, "add_to_cart", "A")])
    (decision,) = handle.fire(brief, 65_000)
    assert decision["expired_ms"] == 65_000 and handle.accounts == {} and handle.bucket is None
    assert handle.timers == set()
    # past the dedupe horizon (the watermark less a minute) an event id is forgotten
    _batch(processor, handle, 0, [("e8", 100_000, "product_view", "D")])
    _batch(processor, handle, 200_000, [("e9", 210_000, "product_view", "C")])
    assert set(carts.json.loads(str(handle.state("acc")["seen_json"]))) == {"e9"}


def test_events_without_an_account_keep_no_state() -> None:
    import pandas as pd

    processor = carts.CartProcessor(window_minutes=1.0, idle_expiry_minutes=5.0, recent_views=2, dedupe_minutes=1.0,
                                    watermark_seconds=5.0)
    handle = _FakeHandle()
    processor.init(handle)  # type: ignore[arg-type]
    frame = pd.DataFrame([{"account_id": None, "event_id": "x", "event_ts": pd.Timestamp(1, unit="ms")}])
    values = SimpleNamespace(getCurrentWatermarkInMs=lambda: 0)
    for bucket in (-1, -64):
        assert list(processor.handleInputRows((bucket,), iter([frame]), values)) == []  # type: ignore[arg-type]
    assert handle.calls == []


def test_a_checkpoint_keeps_the_bucket_count_it_started_with(tmp_path: Path) -> None:
    from custseg.errors import ConfigError
    from custseg.stream.query import keep_state_buckets

    checkpoint = str(tmp_path / "checkpoints" / "decisions")
    keep_state_buckets(checkpoint, 64)
    keep_state_buckets(checkpoint, 64)  # a restart with the same count
    with pytest.raises(ConfigError, match=r"state_buckets is 8, but the checkpoint .* started with 64"):
        keep_state_buckets(checkpoint, 8)


def test_feed_plan_truth_matches_its_events() -> None:
    settings = FeedSettings(carts=30, abandon_share=0.5, resume_share=0.25, seed=3)
    plan = feed.plan_feed([f"W{i}" for i in range(40)], [("P1", 10.0), ("P2", 25.0)], settings, 60_000, 5_000, 120_000)
    outcomes = {c["outcome"] for c in plan.truth}
    assert outcomes == {"abandoned", "checked_out", "resumed"} and len(plan.truth) == 30
    by_account: dict[object, list[feed.FeedEvent]] = {}
    for e in plan.events:
        by_account.setdefault(e.event["account_id"], []).append(e)
    for cart in plan.truth:
        kinds = [e.event["event_type"] for e in by_account[cart["account_id"]]]
        assert ("checkout" in kinds) == (not cart["fires"])
        adds = {e.event["event_id"] for e in by_account[cart["account_id"]] if e.event["event_type"] == "add_to_cart"}
        assert len(adds) == cart["cart_items"]
    clock = [e for e in plan.events if e.event["account_id"] is None]
    assert min(c.offset_ms for c in clock) > max(int(c["expires_offset_ms"] or 0) for c in plan.truth) + 5_000
    with pytest.raises(ValueError, match="at least one account"):
        feed.plan_feed([], [("P1", 1.0)], settings, 60_000, 5_000, 1_000)


def test_parse_names_the_problem_of_each_bad_row(spark: SparkSession, base_config: Config) -> None:
    good = '{"event_id": "e1", "session_id": "s", "event_ts": "2026-07-01T09:00:00Z", "event_type": "checkout"}'
    lines = [good, "", "not json", '{"event_id": "e2", "session_id": "s", "event_type": "checkout"}',
             '{"event_id": "e3", "session_id": "s", "event_ts": "yesterday", "event_type": "checkout"}',
             '{"event_id": "e4", "session_id": "s", "event_ts": "2026-07-01T09:00:00Z", "event_type": "dance"}']
    raw = spark.createDataFrame([(line, "f.json") for line in lines], "value string, origin string")
    parsed = sources.parse_events(raw, sources.events_source(base_config))
    reasons = [r["reject_reason"] for r in parsed.collect()]
    assert reasons == [None, "blank line", "bad JSON", "missing required value: event_ts", "not a timestamp: event_ts",
                       "unknown event_type"]
    first = parsed.filter(F.col("reject_reason").isNull()).first()
    assert first is not None and first["event_ts"] == dt.datetime(2026, 7, 1, 9, 0)


def test_kafka_without_its_connector_says_how_to_add_it(spark: SparkSession, base_config: Config) -> None:
    kafka = dataclasses.replace(base_config.stream.kafka, servers="127.0.0.1:9", topic="t")
    settings = dataclasses.replace(base_config.stream, source="kafka", kafka=kafka)
    with pytest.raises(EnvironmentProblem) as raised:
        sources.read_kafka(spark, settings)
    message = str(raised.value)
    assert "Kafka connector" in message and "--kafka-packages" in message
    assert "spark-sql-kafka-0-10_2.13:" in message and "\n" not in message


def _same(col: Column) -> Column:
    return col


def _tagged(col: Column) -> Column:
    """Stands in for the keyed hash: visibly derived from the account."""
    return F.concat(F.lit("key("), col, F.lit(")"))


def _decisions(spark: SparkSession, rows: list[tuple[str, int, float]]):  # type: ignore[no-untyped-def]
    """(account, cart number, cart value) -> processor output rows, expiring an hour apart."""
    return spark.createDataFrame(
        [(a, f"{a}-{n}", v, 2, 3.0, 1, "web", 1_700_000_000_000 + i * 3_600_000, 1_700_000_900_000 + i * 3_600_000)
         for i, (a, n, v) in enumerate(rows)], carts.DECISION_SCHEMA)


def test_consent_resolution_routing_and_frequency_cap(spark: SparkSession, base_config: Config) -> None:
    customers = spark.createDataFrame(
        [("W1", "C1", ["email", "push"], "High-value loyal", 3, 4), ("W2", "C2", ["push"], "Bargain", 1, 1),
         ("W3", "C3", None, None, None, None), ("W4", "C4", ["email"], None, None, None)], lookup.LOOKUP_SCHEMA)
    model = _model([[20, 2, 3, 1], [300, 2, 3, 1]], [1, 1])
    settings = dataclasses.replace(base_config.stream, frequency_cap=2)
    frame = _decisions(spark, [("W1", 1, 20.0), ("W1", 2, 300.0), ("W1", 3, 25.0), ("W2", 1, 300.0),
                               ("W2", 2, 20.0), ("W3", 1, 20.0), ("W4", 1, 20.0), ("W9", 1, 20.0)])
    rows = {r["cart_id"]: r for r in decide.decide(frame, model, settings, customers, None, 7, "q", _same).collect()}
    # a high-risk cart goes to email, a low-risk one to push: each needs consent for its own channel
    assert {k: (r["status"], r["suppression"], r["channel"]) for k, r in rows.items()} == {
        "W1-1": ("activated", None, "push"), "W1-2": ("activated", None, "email"),
        "W1-3": ("suppressed", "frequency_cap", "push"), "W2-1": ("suppressed", "no_consent", "email"),
        "W2-2": ("activated", None, "push"), "W3-1": ("suppressed", "no_consent", "push"),
        "W4-1": ("suppressed", "no_consent", "push"), "W9-1": ("suppressed", "unresolved_customer", "push")}
    assert (rows["W1-1"]["realtime_segment"], rows["W1-1"]["channel"]) == (kmeans.LOW_RISK, "push")
    assert (rows["W1-2"]["realtime_segment"], rows["W1-2"]["channel"], rows["W1-2"]["campaign"]) == (
        kmeans.HIGH_RISK, "email", "cart-rescue-high")
    assert rows["W1-2"]["batch_segment"] == "High-value loyal" and rows["W1-2"]["customer_id"] == "C1"
    prior = spark.createDataFrame([("C1", "activated", dt.datetime(2023, 11, 14, 22, 0))],
                                  "customer_id string, status string, window_expired_at timestamp")
    decided = decide.decide(frame, model, settings, customers, prior, 8, "q", _same).collect()
    again = {r["cart_id"]: r["suppression"] for r in decided}
    assert again["W1-1"] is None and again["W1-2"] == "frequency_cap"  # one earlier activation counts against the cap


def test_an_activation_carries_the_account_only_as_its_keyed_hash(spark: SparkSession, base_config: Config) -> None:
    customers = spark.createDataFrame([("W17", "C1", ["email", "push"], "x", 1, None)], lookup.LOOKUP_SCHEMA)
    row = decide.decide(_decisions(spark, [("W17", 3, 20.0)]), _model([[20, 2, 3, 1]] * 2, [1, 1]), base_config.stream,
                        customers, None, 1, "q", _tagged).first()
    assert row is not None and (row["account_key"], row["cart_id"]) == ("key(W17)", "key(W17)-3")
    assert row["status"] == "activated"  # the lookup still joined on the raw account
    leaks = {name for name, value in row.asDict().items()
             if isinstance(value, str) and "W17" in value.replace("key(W17)", "")}
    assert not leaks and "account_id" not in row.asDict()


def test_no_routing_rule_means_no_channel(spark: SparkSession, base_config: Config) -> None:
    customers = spark.createDataFrame([("W1", "C1", ["email"], "x", 1, None)], lookup.LOOKUP_SCHEMA)
    settings = dataclasses.replace(base_config.stream, routing=[])
    row = decide.decide(_decisions(spark, [("W1", 1, 20.0)]), _model([[20, 2, 3, 1]] * 2, [1, 1]), settings,
                        customers, None, 1, "q", _same).first()
    assert row is not None and (row["channel"], row["suppression"]) == ("none", "no_channel")


def test_the_live_lookup_takes_a_recorded_opt_out_from_the_next_batch_on(spark: SparkSession, config: Config) -> None:
    batch_tables(spark, config, ["W000", "W001"])  # C0's record opted in to marketing, C1's did not
    ctx = JobContext(spark, config, table_store(spark, config), Catalog(config), "stream", "run-live")
    live = lookup.LiveLookup(ctx, lambda read: current_states(read, config.privacy.opt_in_channels, ctx.run_id),
                             CONSENT_INPUTS)
    first = live.current()
    assert {r["customer_id"]: r["consented_channels"] for r in first.collect()} == {"C0": ["email", "push"], "C1": None}
    assert live.current() is first and live.builds == 1  # no table moved: the cached lookup serves the next batch
    consent_job.record(spark, config, "C0", "email", "opt_out", "call-centre")
    after = live.current()
    assert {r["customer_id"]: r["consented_channels"] for r in after.collect()} == {"C0": ["push"], "C1": None}
    assert live.builds == 2 and "consent@0" in ctx.input_versions  # the versions it read are on record
    consent_job.record(spark, config, "C1", "push", "opt_in", "app")  # a new version of a table it read
    latest = live.current()
    assert {r["customer_id"]: r["consented_channels"] for r in latest.collect()} == {"C0": ["push"], "C1": ["push"]}
    assert live.builds == 3 and not after.is_cached and latest.is_cached  # the replaced lookup is released
    live.release()
    assert not latest.is_cached


def test_the_stream_without_a_key_stops_before_it_starts(spark: SparkSession, config: Config,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.privacy.key_env, raising=False)
    with pytest.raises(EnvironmentProblem, match="no pseudonymization key"):
        stream_job.run(spark, config)
    assert not Path(Catalog(config).path("activations")).exists()


def test_churn_decile_routes_the_likeliest_churners_to_their_own_campaign(spark: SparkSession,
                                                                           base_config: Config) -> None:
    crosswalk = spark.createDataFrame([("web_accounts", f"W{i}", f"C{i}") for i in range(1, 5)],
                                      "source string, record_id string, customer_id string")
    consent = spark.createDataFrame([(f"C{i}", c, "opt_in") for i in range(1, 5) for c in ("email", "push")],
                                    "customer_id string, channel string, status string")
    scores = spark.createDataFrame([("C1", "churn", 2), ("C1", "purchase", 9), ("C2", "churn", 3), ("C3", "churn", 8),
                                    ("C4", "purchase", 1)], "customer_id string, target string, decile int")
    customers = lookup.customer_lookup(spark, crosswalk, consent, None, scores)
    assert {r["account_id"]: r["churn_decile"] for r in customers.collect()} == {"W1": 2, "W2": 3, "W3": 8, "W4": None}
    rules = [RoutingRule(segment="*", max_churn_decile=3, channel="email", campaign="winback"),
             RoutingRule(segment="*", channel="push", campaign="reminder")]
    settings = dataclasses.replace(base_config.stream, routing=rules, frequency_cap=5)
    frame = _decisions(spark, [(f"W{i}", 1, 20.0) for i in range(1, 5)])
    rows = decide.decide(frame, _model([[20, 2, 3, 1]] * 2, [1, 1]), settings, customers, None, 1, "q", _same).collect()
    assert {r["account_key"]: (r["channel"], r["campaign"]) for r in rows} == {
        "W1": ("email", "winback"), "W2": ("email", "winback"), "W3": ("push", "reminder"),
        "W4": ("push", "reminder")}  # no churn score (no order yet): not among the likeliest churners
    with pytest.raises(ValueError, match="max_churn_decile must be 1 to 10, got 0"):
        RoutingRule(max_churn_decile=0, campaign="x")


def test_write_once_skips_a_replayed_batch(spark: SparkSession, store: TableStore, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    frame = spark.createDataFrame([(1,)], "x int")
    first = store.write_once(path, frame, CommitInfo("stream", "r", transaction=("app", 0)))
    replay = store.write_once(path, frame, CommitInfo("stream", "r", transaction=("app", 0)))
    second = store.write_once(path, frame, CommitInfo("stream", "r", transaction=("app", 1)))
    other_app = store.write_once(path, frame, CommitInfo("stream", "r", transaction=("other", 0)))
    assert (first, replay, second, other_app) == (0, None, 1, 2)
    assert store.read(path).count() == 3 and store.transaction_version(path, "app") == 1
    with pytest.raises(ValueError, match="transaction"):
        store.write_once(path, frame, CommitInfo("stream", "r"))


class _Flaky(http.server.BaseHTTPRequestHandler):
    failures_left = 0
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Flaky.failures_left > 0:
            _Flaky.failures_left -= 1
            self.send_response(503)
        else:
            _Flaky.bodies.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_url() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/activations"
    server.shutdown()


def test_webhook_retries_then_succeeds_or_gives_up(webhook_url: str) -> None:
    settings = WebhookSettings(url=webhook_url, retries=2, backoff_seconds=0.01)
    _Flaky.failures_left, _Flaky.bodies = 2, []
    assert sink.post_with_retries(webhook_url, '{"a": 1}', settings) == (3, None)
    assert _Flaky.bodies == [b'{"a": 1}']
    _Flaky.failures_left = 5
    assert sink.post_with_retries(webhook_url, '{"a": 2}', settings) == (3, "HTTP 503")
    attempts, error = sink.post_with_retries("http://127.0.0.1:9/none", "{}", WebhookSettings(retries=0))
    assert attempts == 1 and error is not None


def test_the_summary_says_once_how_long_batches_took_against_the_trigger() -> None:
    report = query.StreamReport()
    progress = [{"numInputRows": 10, "durationMs": {"addBatch": 300, "triggerExecution": 400}, "stateOperators": []},
                {"numInputRows": 0, "durationMs": {"latestOffset": 2, "triggerExecution": 2}, "stateOperators": []},
                {"numInputRows": 50, "durationMs": {"addBatch": 2000, "triggerExecution": 2500}, "stateOperators": []},
                {"numInputRows": 70, "durationMs": {"addBatch": 3000, "triggerExecution": 3100},
                 "stateOperators": [{"numRowsDroppedByWatermark": 2}]}]
    for each in progress:
        query._count(report, each)
    metrics = report.metrics(trigger_seconds=1.0)
    assert (metrics["batch_seconds_median"], metrics["batch_seconds_max"], metrics["batches_over_trigger"]) == \
        ("2.5", "3.1", "2")  # the poll that found no input is not a batch that took 2 ms
    assert (metrics["batches"], metrics["input_rows"], metrics["dropped_by_watermark"]) == ("3", "130", "2")
    lines = summary._stream([SimpleNamespace(job="stream", metrics=metrics)])  # type: ignore[list-item]
    timing = [line for line in lines if "micro-batches took" in line]
    assert timing == ["  micro-batches took 2.5s at the median, 3.1s at most, against a 1s trigger; 2 of 3 ran "
                      "longer, and the next one started late (stream.max_files_per_trigger and "
                      "stream.trigger_seconds set the pace)"]
    quick = query.StreamReport(batches=1, batch_seconds=[0.3]).metrics(trigger_seconds=1.0)
    assert [line for line in summary._stream([SimpleNamespace(job="stream", metrics=quick)])  # type: ignore[list-item]
            if "micro-batches took" in line] == ["  micro-batches took 0.3s at the median, 0.3s at most, "
                                                  "against a 1s trigger"]


class _FakeQuery:
    """A query that first reports a poll that found no input (under the next batch's id), and
    at the next look that batch too, as Spark reports them."""

    name, isActive = "custseg_stream_decisions", True
    status = {"isTriggerActive": False, "isDataAvailable": False}
    POLL = {"batchId": 5, "numInputRows": 0, "durationMs": {"latestOffset": 2, "triggerExecution": 2},
            "stateOperators": []}
    BATCH = {"batchId": 5, "numInputRows": 40, "durationMs": {"addBatch": 900, "triggerExecution": 1200},
             "stateOperators": []}

    def __init__(self) -> None:
        self.looks = 0

    @property
    def recentProgress(self) -> list[dict[str, object]]:  # noqa: N802 (Spark's name)
        self.looks += 1
        return [self.POLL] if self.looks == 1 else [self.POLL, self.BATCH]

    def exception(self) -> None:
        return None


def test_a_batch_reported_after_a_poll_under_its_id_is_still_counted() -> None:
    report = query.StreamReport()
    fake = _FakeQuery()
    query._await(report, [fake], [lambda: fake], run_seconds=1.2, idle_seconds=None)  # type: ignore[list-item]
    assert fake.looks >= 2
    assert (report.batches, report.input_rows, report.batch_seconds) == (1, 40, [1.2])
