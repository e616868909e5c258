"""Per-customer cart state and the abandoned-cart decision, in event time.

``CartProcessor`` runs under ``transformWithStateInPandas`` (RocksDB state store). For each
account it keeps the open cart (items, value, last cart activity), the session (start, device)
and the recent product views, and counts each event id once. A cart idle for the window without
checkout is decided abandoned, once; an account idle past the idle expiry is dropped.

Every state call is a round trip between the Python worker and the JVM's state server, and they
dominate a micro-batch's time. So the state is grouped by bucket (a hash of the account), not by
account: Spark's per-key calls (its key set, the timers) are paid per bucket, and an account
costs one read and one write of its entry in the bucket's map state. The bucket keeps one value
beside the map: the expiry of each open cart in it, when its next idle sweep is due, and the
time of its one event-time timer (the earliest of those).

An event at or before the watermark is late and dropped here. (Spark's own filter, with more
than one stateful operator allowed, lets through what only the current micro-batch's watermark
makes late; the rejects query records those as late, so the processor drops them too.)

A cart is decided in the first micro-batch that proves no event can still save it: its expiry
is behind the watermark, or behind the bucket's latest event time in this micro-batch less the
watermark delay. The next micro-batch's watermark is at least that, so any event of the cart
still to come is late and dropped: the decision is the one the timer would make a micro-batch
later. The timer decides the carts of buckets that get no events.

A micro-batch can also hold an account's events from after its cart's expiry (a backlog of
files, a restart). The cart is decided before such an event when its expiry is behind the
watermark already, or the event is later than the expiry by the watermark delay (any event of
the cart still to come is late); otherwise the event joins the cart, as it would have had it
come before a late checkout. Both rules read only the account's own events and the watermark,
so which accounts share a bucket never changes a decision.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from pyspark.sql import types as T
from pyspark.sql.streaming import StatefulProcessor, StatefulProcessorHandle
from pyspark.sql.streaming.stateful_processor import ExpiredTimerInfo, TimerValues

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported where it is used: Spark starts a Python process just to set up the state
# (which needs no pandas) and gives it 10 s to connect, which a loaded machine can exceed.

MINUTE_MS = 60_000
# Events without an account are keyed by negative buckets of their session, and no state is kept
# for them: they only move the watermark.
ACCOUNT_KEY_SCHEMA = T.StructType([T.StructField("account_id", T.StringType())])
STATE_SCHEMA = T.StructType([
    T.StructField("cart_no", T.IntegerType()),          # carts opened so far (the open one's number)
    T.StructField("items_json", T.StringType()),        # {product_id: [count, unit price]}
    T.StructField("last_cart_ms", T.LongType()),
    T.StructField("session_id", T.StringType()),
    T.StructField("session_start_ms", T.LongType()),
    T.StructField("last_event_ms", T.LongType()),
    T.StructField("device", T.StringType()),
    T.StructField("views", T.StringType()),             # recent product ids, comma separated, newest last
    T.StructField("seen_json", T.StringType()),         # {event_id: event ms} within the dedupe horizon
])
BUCKET_SCHEMA = T.StructType([
    T.StructField("due_json", T.StringType()),          # {account_id: cart expiry ms} of the open carts
    T.StructField("sweep_ms", T.LongType()),            # when idle accounts are next looked for (null: none held)
    T.StructField("timer_ms", T.LongType()),            # the bucket's registered timer (null: none)
])
EMPTY_STATE: dict[str, Any] = {"cart_no": 0, "items_json": "{}", "last_cart_ms": 0, "session_id": None,
                               "session_start_ms": 0, "last_event_ms": 0, "device": None, "views": "",
                               "seen_json": "{}"}
DECISION_SCHEMA = T.StructType([
    T.StructField("account_id", T.StringType()),
    T.StructField("cart_id", T.StringType()),
    T.StructField("cart_value", T.DoubleType()),
    T.StructField("cart_items", T.IntegerType()),
    T.StructField("session_minutes", T.DoubleType()),
    T.StructField("recent_views", T.IntegerType()),
    T.StructField("device", T.StringType()),
    T.StructField("last_cart_ms", T.LongType()),
    T.StructField("expired_ms", T.LongType()),
])
DECISION_COLUMNS = DECISION_SCHEMA.fieldNames()
INPUT_COLUMNS = ("account_id", "event_id", "event_ts", "event_type", "session_id", "product_id", "device", "price")


class Event(NamedTuple):
    """One input row as the processor reads it (its account and time apart)."""

    event_id: str
    event_type: str
    session_id: str
    product_id: str | None
    device: str | None
    price: float | None


class Bucket(NamedTuple):
    """A bucket's own value: its open carts' expiries, its next idle sweep and its timer."""

    due: dict[str, int]
    sweep_ms: int | None
    timer_ms: int | None


class CartProcessor(StatefulProcessor):
    """Cart state per account, grouped by bucket; emits one DECISION_SCHEMA row per abandoned cart."""

    def __init__(self, window_minutes: float, idle_expiry_minutes: float, recent_views: int, dedupe_minutes: float,
                 watermark_seconds: float):
        self.window_ms = int(window_minutes * MINUTE_MS)
        self.delay_ms = int(watermark_seconds * 1000)
        self.idle_ms = int(idle_expiry_minutes * MINUTE_MS)
        # An idle account is dropped at the bucket's next sweep: within a quarter of the idle
        # expiry after it, so a bucket is read whole at most four times an idle expiry.
        self.sweep_gap_ms = max(self.idle_ms // 4, 1)
        self.recent_views = recent_views
        self.dedupe_ms = int(dedupe_minutes * MINUTE_MS)

    def init(self, handle: StatefulProcessorHandle) -> None:
        self.handle = handle
        self.accounts = handle.getMapState("accounts", ACCOUNT_KEY_SCHEMA, STATE_SCHEMA)
        self.bucket = handle.getValueState("bucket", BUCKET_SCHEMA)

    def handleInputRows(self, key: Any, rows: Iterator[pd.DataFrame],
                        timerValues: TimerValues) -> Iterator[pd.DataFrame]:
        if int(key[0]) < 0:
            return iter([])  # anonymous: nobody to activate; such events only move the watermark
        watermark = timerValues.getCurrentWatermarkInMs()
        by_account = _events_by_account(list(rows), watermark)
        if not by_account:
            return iter([])  # every event was late
        latest = max(events[-1][0] for events in by_account.values())
        # At most the watermark the next micro-batch runs with: a cart expired before it is certain.
        certain = max(watermark, latest - self.delay_ms)
        bucket = self._load_bucket()
        if bucket.sweep_ms is None:  # the bucket's first accounts: look for idle ones from the earliest expiry on
            bucket = bucket._replace(sweep_ms=min(events[-1][0] for events in by_account.values()) + self.idle_ms)
        touched: dict[str, dict[str, Any]] = {}
        decisions = []
        for account_id, events in by_account.items():
            state = self._load(account_id)
            seen: dict[str, int] = json.loads(state["seen_json"] or "{}")
            for event_ms, event in events:
                if event.event_id in seen:
                    continue  # a duplicate delivery: the event counts once
                seen[event.event_id] = event_ms
                decision = self._lapsed_cart(account_id, state, event_ms, watermark)
                if decision is not None:
                    decisions.append(decision)
                apply_event(state, event, event_ms, self.recent_views)
            horizon = watermark - self.dedupe_ms
            state["seen_json"] = json.dumps({event_id: ms for event_id, ms in seen.items() if ms >= horizon})
            touched[account_id] = state
            _index(bucket, account_id, state, self.window_ms)
        decisions += self._decide_due(bucket, certain, touched)
        for account_id, state in touched.items():
            self._save(account_id, state)
        self._close_batch(bucket, certain)
        return iter([_frame(decisions)] if decisions else [])

    def handleExpiredTimer(self, key: Any, timerValues: TimerValues,
                           expiredTimerInfo: ExpiredTimerInfo) -> Iterator[pd.DataFrame]:
        stored = self.bucket.get()
        if stored is None:
            return
        bucket = _bucket(stored)
        expired = expiredTimerInfo.getExpiryTimeInMs()
        if bucket.timer_ms == expired:
            bucket = bucket._replace(timer_ms=None)  # Spark deletes the fired timer once this call returns
        certain = max(expired, timerValues.getCurrentWatermarkInMs())
        decisions = self._decide_due(bucket, certain, {})
        self._close_batch(bucket, certain)
        if decisions:
            yield _frame(decisions)

    def close(self) -> None:
        pass

    # -- state helpers -------------------------------------------------------------------
    def _lapsed_cart(self, account_id: str, state: dict[str, Any], event_ms: int,
                     watermark_ms: int) -> tuple[Any, ...] | None:
        """The decision of an open cart that is abandoned for sure before this (not late) event
        (see the module docstring); the cart is closed. None while a late event of the cart could
        still save it."""
        items = json.loads(state["items_json"] or "{}")
        expiry = state["last_cart_ms"] + self.window_ms
        if not items or (expiry > watermark_ms and event_ms < expiry + self.delay_ms):
            return None
        state["items_json"] = "{}"
        return abandoned_cart(account_id, state, items, expiry)

    def _decide_due(self, bucket: Bucket, certain_ms: int, loaded: dict[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Decide the bucket's open carts whose expiry is behind ``certain_ms``; ``loaded``: the
        accounts already read (and to be written) this call, whose entries are not touched here."""
        decisions = []
        for account_id in [a for a, expiry in bucket.due.items() if expiry <= certain_ms]:
            state = loaded.get(account_id)
            if state is None:
                state = self._load(account_id)
            items = json.loads(state["items_json"] or "{}")
            if items:
                decisions.append(abandoned_cart(account_id, state, items, state["last_cart_ms"] + self.window_ms))
                state["items_json"] = "{}"
                if account_id not in loaded:
                    self._save(account_id, state)
            del bucket.due[account_id]
        return decisions

    def _close_batch(self, bucket: Bucket, certain_ms: int) -> None:
        """Drop idle accounts when the sweep is due, then move the bucket's timer to its next due
        time and store the bucket (or drop it, once it holds no account)."""
        if bucket.sweep_ms is not None and bucket.sweep_ms <= certain_ms:
            bucket = bucket._replace(sweep_ms=self._sweep(certain_ms))
        due = min([*bucket.due.values(), *([bucket.sweep_ms] if bucket.sweep_ms is not None else [])], default=None)
        if due != bucket.timer_ms:
            if bucket.timer_ms is not None:
                self.handle.deleteTimer(bucket.timer_ms)
            if due is not None:
                self.handle.registerTimer(due)
            bucket = bucket._replace(timer_ms=due)
        if bucket.sweep_ms is None and not bucket.due:
            self.bucket.clear()
        else:
            self.bucket.update((json.dumps(bucket.due), bucket.sweep_ms, bucket.timer_ms))

    def _sweep(self, certain_ms: int) -> int | None:
        """Remove the accounts idle past the expiry (no open cart, no event for ``idle_ms``) and
        return when the next sweep is due (None: no account left). Reads the bucket whole: its
        map's entries come over in batches, not a call each."""
        idle, remaining = [], []
        for (account_id,), row in self.accounts.iterator():
            state = dict(zip(STATE_SCHEMA.fieldNames(), row, strict=True))
            idle_at = state["last_event_ms"] + self.idle_ms
            if idle_at <= certain_ms and state["items_json"] in ("{}", "", None):
                idle.append(account_id)
            else:
                remaining.append(idle_at)
        for account_id in idle:
            self.accounts.removeKey((account_id,))
        return max(min(remaining), certain_ms + self.sweep_gap_ms) if remaining else None

    def _load_bucket(self) -> Bucket:
        stored = self.bucket.get()  # None when the bucket has no state
        return Bucket({}, None, None) if stored is None else _bucket(stored)

    def _load(self, account_id: str) -> dict[str, Any]:
        stored = self.accounts.getValue((account_id,))  # None when the account has no state
        if stored is None:
            return dict(EMPTY_STATE)
        return dict(zip(STATE_SCHEMA.fieldNames(), stored, strict=True))

    def _save(self, account_id: str, state: dict[str, Any]) -> None:
        self.accounts.updateValue((account_id,), tuple(state[name] for name in STATE_SCHEMA.fieldNames()))


def _bucket(stored: tuple[Any, ...]) -> Bucket:
    due_json, sweep_ms, timer_ms = stored
    return Bucket(json.loads(due_json or "{}"), None if sweep_ms is None else int(sweep_ms),
                  None if timer_ms is None else int(timer_ms))


def _index(bucket: Bucket, account_id: str, state: dict[str, Any], window_ms: int) -> None:
    """Note the account's open cart's expiry in the bucket (or that it has none)."""
    if state["items_json"] in ("{}", "", None):
        bucket.due.pop(account_id, None)
    else:
        bucket.due[account_id] = int(state["last_cart_ms"] + window_ms)


def _frame(decisions: list[tuple[Any, ...]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(decisions, columns=DECISION_COLUMNS)


def _events_by_account(frames: list[pd.DataFrame], watermark_ms: int) -> dict[str, list[tuple[int, Event]]]:
    """Each account's (event ms, event) later than the watermark, oldest first (ties in arrival
    order). Plain tuples: pandas' per-row access costs more than the rest of an account's batch
    together."""
    import numpy as np
    import pandas as pd

    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    event_ms = frame["event_ts"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    accounts = frame["account_id"].to_numpy(dtype=object)
    columns = [frame[c].to_numpy(dtype=object) for c in Event._fields]
    events = [Event(*values) for values in zip(*columns, strict=True)]
    grouped: dict[str, list[tuple[int, Event]]] = {}
    for index in np.argsort(event_ms, kind="stable"):
        if event_ms[index] <= watermark_ms:
            continue  # late
        grouped.setdefault(str(accounts[index]), []).append((int(event_ms[index]), events[index]))
    return grouped


def apply_event(state: dict[str, Any], event: Any, event_ms: int, recent_views: int) -> None:
    """Fold one event into the account's state (a plain dict, so it is testable without Spark)."""
    import pandas as pd

    state["last_event_ms"] = max(state["last_event_ms"], event_ms)
    if event.device is not None and not pd.isna(event.device):
        state["device"] = event.device
    if event.session_id != state["session_id"]:  # a new session: its length counts from here
        state["session_id"], state["session_start_ms"] = event.session_id, event_ms
    kind = event.event_type
    if kind == "product_view" and event.product_id and recent_views:
        views = [v for v in state["views"].split(",") if v] + [event.product_id]
        state["views"] = ",".join(views[-recent_views:])
    if kind not in ("add_to_cart", "remove_from_cart", "checkout"):
        return
    items: dict[str, list[float]] = json.loads(state["items_json"] or "{}")
    if kind == "add_to_cart" and event.product_id:
        if not items:
            state["cart_no"] += 1  # a new cart starts
        price = 0.0 if event.price is None or pd.isna(event.price) else float(event.price)
        count = items.get(event.product_id, [0, price])[0]
        items[event.product_id] = [count + 1, price]
    elif kind == "remove_from_cart" and event.product_id in items:
        items[event.product_id][0] -= 1
        if items[event.product_id][0] <= 0:
            del items[event.product_id]
    elif kind == "checkout":
        items = {}
    state["items_json"] = json.dumps(items, sort_keys=True)
    state["last_cart_ms"] = max(state["last_cart_ms"], event_ms)


def abandoned_cart(account_id: str, state: dict[str, Any], items: dict[str, list[float]],
                   expired_ms: int) -> tuple[Any, ...]:
    """The decision row of an abandoned cart: the real-time features the online model scores."""
    value = round(sum(count * price for count, price in items.values()), 2)
    count = int(sum(c for c, _ in items.values()))
    session_minutes = max(0.0, (state["last_event_ms"] - state["session_start_ms"]) / MINUTE_MS)
    views = len([v for v in state["views"].split(",") if v])
    return (account_id, f"{account_id}-{state['cart_no']}", value, count, session_minutes, views,
            state["device"], state["last_cart_ms"], expired_ms)
