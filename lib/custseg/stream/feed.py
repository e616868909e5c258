"""A live event feed for the built-in data: timed JSON event files in the landing folder, with
the truth of every cart written beside them.

Each cart follows one script, timed in fractions of the abandonment window W so the same feed
works at 15 minutes or at 10 seconds: a session starts, a product is viewed, one to three items
are added, then the cart is either left (``abandoned``: it must fire at its last add plus W),
checked out (``checked_out``), or left for 0.6 W and resumed, with one more item and a checkout
(``resumed``); neither of the last two may fire. One in ten adds is delivered twice (same event
id), which the stream must count once. The last file ends with anonymous events past every
window, so the watermark passes every expiry. Accounts and products come from the generated
data (``identity_crosswalk``'s web accounts, ``products_clean``) where it exists.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path

from custseg.config.model import FeedSettings

TRUTH_FILE = "feed_truth.jsonl"


@dataclasses.dataclass(frozen=True)
class FeedEvent:
    offset_ms: int
    event: dict[str, object]  # without event_ts, set when written


@dataclasses.dataclass(frozen=True)
class FeedPlan:
    events: list[FeedEvent]
    truth: list[dict[str, object]]  # per cart, offsets in ms
    span_ms: int


def plan_feed(accounts: Sequence[str], products: Sequence[tuple[str, float]], settings: FeedSettings,
              window_ms: int, watermark_ms: int, span_ms: int) -> FeedPlan:
    """Carts starting uniformly over ``span_ms``, one per account, with their scripted events."""
    if not accounts or not products:
        raise ValueError("the feed needs at least one account and one product")
    rng = random.Random(settings.seed)
    events: list[FeedEvent] = []
    truth: list[dict[str, object]] = []
    chosen = rng.sample(list(accounts), min(settings.carts, len(accounts)))
    for number, account in enumerate(chosen):
        start = int(rng.uniform(0, span_ms))
        outcome = _outcome(rng.random(), settings)
        cart_events, cart_truth = _cart(rng, number, account, products, outcome, start, window_ms)
        events += cart_events
        truth.append(cart_truth)
    end = max(e.offset_ms for e in events) + window_ms + watermark_ms + max(window_ms // 10, 1000)
    for tick in range(3):  # anonymous traffic past every window: the watermark passes each expiry
        events.append(FeedEvent(end + tick, {"event_id": f"clock-{tick}", "account_id": None,
                                              "session_id": f"clock-{tick}", "event_type": "session_start",
                                              "product_id": None, "device": "web"}))
    events.sort(key=lambda e: e.offset_ms)
    return FeedPlan(events, truth, end + 3)


def _outcome(draw: float, settings: FeedSettings) -> str:
    if draw < settings.abandon_share:
        return "abandoned"
    if draw < settings.abandon_share + settings.resume_share:
        return "resumed"
    return "checked_out"


def _cart(rng: random.Random, number: int, account: str, products: Sequence[tuple[str, float]], outcome: str,
          start: int, window: int) -> tuple[list[FeedEvent], dict[str, object]]:
    session, device = f"live-s{number}", rng.choice(["web", "ios", "android"])
    base = {"account_id": account, "session_id": session, "device": device}
    script: list[tuple[float, str, str | None]] = [(0.0, "session_start", None)]
    picks = [rng.choice(products) for _ in range(rng.randint(1, 3))]
    script.append((0.02, "product_view", picks[0][0]))
    script += [(0.05 + 0.03 * i, "add_to_cart", p[0]) for i, p in enumerate(picks)]
    last_add = 0.05 + 0.03 * (len(picks) - 1)
    if outcome == "checked_out":
        script.append((last_add + 0.2, "checkout", None))
    elif outcome == "resumed":
        extra = rng.choice(products)
        picks.append(extra)
        last_add += 0.6
        script += [(last_add, "add_to_cart", extra[0]), (last_add + 0.05, "checkout", None)]
    events: list[FeedEvent] = []
    for index, (fraction, kind, product) in enumerate(script):
        event: dict[str, object] = {**base, "event_id": f"live-{number}-{index}", "event_type": kind,
                                    "product_id": product}
        offset = start + int(fraction * window)
        events.append(FeedEvent(offset, event))
        if kind == "add_to_cart" and rng.random() < 0.1:
            events.append(FeedEvent(offset, dict(event)))  # delivered twice
    last_cart = start + int(last_add * window) if outcome == "abandoned" else None
    truth = {"account_id": account, "outcome": outcome, "fires": outcome == "abandoned",
             "cart_items": len(picks), "cart_value": round(sum(p[1] for p in picks), 2),
             "last_cart_offset_ms": last_cart, "expires_offset_ms": None if last_cart is None else last_cart + window}
    return events, truth


def write_feed(plan: FeedPlan, landing_dir: str, files: int, start: dt.datetime | None,
               file_interval_seconds: float) -> Path:
    """Write the plan as ``files`` JSON-lines files, one time slice each, then its truth.

    Args:
        start: event time of offset 0; None for real time (offset 0 is now, and each file is
            written once the wall clock has passed its slice, as a live system would land it).
        file_interval_seconds: wall seconds between files when ``start`` is given (0: at once).

    Returns:
        The truth file (JSON lines, one cart each, with absolute times).
    """
    landing = Path(landing_dir)
    landing.mkdir(parents=True, exist_ok=True)
    realtime = start is None
    origin = dt.datetime.now(dt.UTC) if start is None else start
    slice_ms = max(1, -(-plan.span_ms // files))
    by_file: dict[int, list[FeedEvent]] = {}
    for e in plan.events:
        by_file.setdefault(e.offset_ms // slice_ms, []).append(e)
    for number in range(files):
        high = (number + 1) * slice_ms
        lines = [json.dumps({**e.event, "event_ts": _iso(origin, e.offset_ms)}) for e in by_file.get(number, [])]
        if realtime:
            _sleep_until(origin + dt.timedelta(milliseconds=high))
        elif number and file_interval_seconds:
            time.sleep(file_interval_seconds)
        _publish(landing, f"events-{origin:%Y%m%dT%H%M%S}-{number:05d}.json", lines, number)
    truth_path = landing.parent / TRUTH_FILE
    with truth_path.open("w", encoding="utf-8") as out:
        for cart in plan.truth:
            last, expires = cart["last_cart_offset_ms"], cart["expires_offset_ms"]
            times = {"last_cart_ts": None if last is None else _iso(origin, int(str(last))),
                     "expires_at": None if expires is None else _iso(origin, int(str(expires)))}
            out.write(json.dumps({**cart, **times}) + "\n")
    return truth_path


def read_truth(path: str | Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line]


def _publish(landing: Path, name: str, lines: list[str], number: int) -> None:
    """Write under a hidden name, then rename: the stream never reads a half-written file.

    The file source takes files oldest first; files written in one go would share a modification
    time, so each is dated 10 ms after the one before it, keeping event-time order.
    """
    hidden = landing / f".{name}.tmp"
    hidden.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    stamp = time.time_ns() + number * 10_000_000
    os.utime(hidden, ns=(stamp, stamp))
    os.replace(hidden, landing / name)


def _iso(origin: dt.datetime, offset_ms: int) -> str:
    return (origin + dt.timedelta(milliseconds=offset_ms)).isoformat(timespec="milliseconds")


def _sleep_until(moment: dt.datetime) -> None:
    delay = (moment - dt.datetime.now(dt.UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)
