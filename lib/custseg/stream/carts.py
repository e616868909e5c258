"""Per-customer cart state and the abandoned-cart decision, in event time.

``CartProcessor`` runs under ``transformWithStateInPandas`` (RocksDB state store), grouped by
account. It keeps the open cart (items, value, last cart activity), the session (start, device)
and the recent product views, counts each event id once, and keeps one event-time timer per
account: at the last cart activity plus the window while a cart is open (firing decides the cart
abandoned, once), else at the last event plus the idle expiry (firing drops the account's state).
Timers fire when the watermark passes them, so a replay of the same events decides the same.

Every state call is a round trip between the Python worker and the JVM's state server, and they
dominate a micro-batch's time. So one value holds all of an account's state, the event ids seen
within the dedupe horizon included, and it records the time of the account's timer: an account's
batch costs one read, one write and, when the due time moved, one timer deleted and one set.

A micro-batch can also hold an account's events from after its cart's expiry (a backlog of
files, a restart): Spark hands a batch's input to the processor before it fires the timers due
in it, so the cart would take in the next cart's items. The cart is decided before such an event
when its expiry is behind the watermark already (the timer is due) or the event is later than
the expiry by the watermark delay (any event of the cart still to come is late, and dropped).
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
ANONYMOUS = "~anonymous:"  # state key prefix of events without an account: no state is kept for them
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
    T.StructField("timer_ms", T.LongType()),            # the account's registered timer (null: none)
])
EMPTY_STATE: dict[str, Any] = {"cart_no": 0, "items_json": "{}", "last_cart_ms": 0, "session_id": None,
                               "session_start_ms": 0, "last_event_ms": 0, "device": None, "views": "",
                               "seen_json": "{}", "timer_ms": None}
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
    """One input row as the processor reads it (its time apart)."""

    event_id: str
    event_type: str
    session_id: str
    product_id: str | None
    device: str | None
    price: float | None


class CartProcessor(StatefulProcessor):
    """Cart state per account; emits one DECISION_SCHEMA row per abandoned cart."""

    def __init__(self, window_minutes: float, idle_expiry_minutes: float, recent_views: int, dedupe_minutes: float,
                 watermark_seconds: float):
        self.window_ms = int(window_minutes * MINUTE_MS)
        self.delay_ms = int(watermark_seconds * 1000)
        self.idle_ms = int(idle_expiry_minutes * MINUTE_MS)
        self.recent_views = recent_views
        self.dedupe_ms = int(dedupe_minutes * MINUTE_MS)

    def init(self, handle: StatefulProcessorHandle) -> None:
        self.handle = handle
        self.state = handle.getValueState("cart", STATE_SCHEMA)

    def handleInputRows(self, key: Any, rows: Iterator[pd.DataFrame],
                        timerValues: TimerValues) -> Iterator[pd.DataFrame]:
        import pandas as pd

        if str(key[0]).startswith(ANONYMOUS):
            return iter([])  # nobody to activate; such events only move the watermark
        state = self._load()
        watermark = timerValues.getCurrentWatermarkInMs()
        seen: dict[str, int] = json.loads(state["seen_json"] or "{}")
        lapsed = []
        for event_ms, event in _events_in_time_order(list(rows)):
            if event.event_id in seen:
                continue  # a duplicate delivery: the event counts once
            seen[event.event_id] = event_ms
            decision = self._lapsed_cart(key[0], state, event_ms, watermark)
            if decision is not None:
                lapsed.append(decision)
            apply_event(state, event, event_ms, self.recent_views)
        horizon = watermark - self.dedupe_ms
        state["seen_json"] = json.dumps({event_id: ms for event_id, ms in seen.items() if ms >= horizon})
        self._set_timer(state)
        self._save(state)
        return iter([pd.DataFrame(lapsed, columns=DECISION_COLUMNS)] if lapsed else [])

    def handleExpiredTimer(self, key: Any, timerValues: TimerValues,
                           expiredTimerInfo: ExpiredTimerInfo) -> Iterator[pd.DataFrame]:
        import pandas as pd

        state = self._load()
        expired = expiredTimerInfo.getExpiryTimeInMs()
        items = json.loads(state["items_json"] or "{}")
        state["timer_ms"] = None  # Spark deletes the fired timer once this call returns
        decision = None
        if items and state["last_cart_ms"] + self.window_ms <= expired:
            decision = abandoned_cart(key[0], state, items, expired)
            state["items_json"] = "{}"
            items = {}
        if not items and state["last_event_ms"] + self.idle_ms <= expired:
            self.state.clear()  # an idle customer: nothing is kept
        else:
            # due later than the fired time, so Spark's delete of that timer leaves this one
            self._set_timer(state)
            self._save(state)
        if decision is not None:
            yield pd.DataFrame([decision], columns=DECISION_COLUMNS)

    def close(self) -> None:
        pass

    # -- state helpers -------------------------------------------------------------------
    def _lapsed_cart(self, account_id: str, state: dict[str, Any], event_ms: int,
                     watermark_ms: int) -> tuple[Any, ...] | None:
        """The decision of an open cart that is abandoned for sure before this event (see the
        module docstring); the cart is closed. None while a late event of the cart could still
        save it."""
        items = json.loads(state["items_json"] or "{}")
        expiry = state["last_cart_ms"] + self.window_ms
        if not items or (expiry > watermark_ms and event_ms < expiry + self.delay_ms):
            return None
        state["items_json"] = "{}"
        return abandoned_cart(account_id, state, items, expiry)

    def _load(self) -> dict[str, Any]:
        stored = self.state.get()  # None when the account has no state
        if stored is None:
            return dict(EMPTY_STATE)
        return dict(zip(STATE_SCHEMA.fieldNames(), stored, strict=True))

    def _save(self, state: dict[str, Any]) -> None:
        self.state.update(tuple(state[name] for name in STATE_SCHEMA.fieldNames()))

    def _set_timer(self, state: dict[str, Any]) -> None:
        """Move the account's one timer to when its cart expires (or, without a cart, when it goes
        idle), noting the time in ``state``; no call when it is due then already."""
        has_cart = state["items_json"] not in ("{}", "", None)
        due = int(state["last_cart_ms"] + self.window_ms if has_cart else state["last_event_ms"] + self.idle_ms)
        if state["timer_ms"] == due:
            return
        if state["timer_ms"] is not None:
            self.handle.deleteTimer(state["timer_ms"])
        self.handle.registerTimer(due)
        state["timer_ms"] = due


def _events_in_time_order(frames: list[pd.DataFrame]) -> Iterator[tuple[int, Event]]:
    """(event ms, event) of an account's rows, oldest first (ties in arrival order). Plain tuples:
    pandas' per-row access costs more than the rest of an account's batch together."""
    import numpy as np
    import pandas as pd

    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    event_ms = frame["event_ts"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    columns = [frame[c].to_numpy(dtype=object) for c in Event._fields]
    events = [Event(*values) for values in zip(*columns, strict=True)]
    for index in np.argsort(event_ms, kind="stable"):
        yield int(event_ms[index]), events[index]


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
