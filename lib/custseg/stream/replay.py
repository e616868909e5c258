"""`custseg replay`: play the live feed into the landing folder (no Spark needed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.stream.feed import FeedPlan, plan_feed, write_feed
from custseg.stream.query import stream_path


def built_in_population(config: Config, size: int) -> tuple[list[str], list[tuple[str, float]]]:
    """Web accounts and priced products of the generated data, else made-up ones of the same shape."""
    from deltalake import DeltaTable

    catalog = Catalog(config)
    accounts: list[str] = []
    products: list[tuple[str, float]] = []
    table = None
    crosswalk, catalogue = catalog.path("identity_crosswalk"), catalog.path("products_clean")
    if DeltaTable.is_deltatable(crosswalk):
        table = DeltaTable(crosswalk).to_pyarrow_table(columns=["source", "record_id"])
        accounts = [r for s, r in zip(table.column("source").to_pylist(), table.column("record_id").to_pylist(),
                                      strict=True) if s == "web_accounts"]
    if DeltaTable.is_deltatable(catalogue):
        table = DeltaTable(catalogue).to_pyarrow_table(columns=["product_id", "list_price"])
        products = [(p, float(v)) for p, v in zip(table.column("product_id").to_pylist(),
                                                  table.column("list_price").to_pylist(), strict=True) if v is not None]
    del table  # arrow buffers released before interpreter exit (see PLATFORM notes on delta-rs teardown)
    gc.collect()
    return (accounts or [f"W{n:06d}" for n in range(size)],
            products or [(f"P{n:04d}", float(5 + (n * 37) % 200)) for n in range(50)])


def plan(config: Config, carts: int | None = None, realtime: bool = False) -> FeedPlan:
    settings = config.stream
    feed = dataclasses.replace(settings.feed, carts=carts or settings.feed.carts)
    accounts, products = built_in_population(config, feed.carts)
    window_ms = int(settings.window_minutes * 60_000)
    span_ms = window_ms * 3 if not realtime else int(feed.files * feed.file_interval_seconds * 1000)
    return plan_feed(accounts, products, feed, window_ms, int(settings.watermark_seconds * 1000), span_ms)


def main(config: Config, carts: int | None, files: int | None, realtime: bool) -> int:
    feed = config.stream.feed
    feed_plan = plan(config, carts, realtime)
    start = None if realtime else dt.datetime.fromisoformat(feed.start)
    landing = stream_path(config, config.stream.landing_dir)
    truth = write_feed(feed_plan, landing, files or feed.files, start, feed.file_interval_seconds)
    fires = sum(bool(c["fires"]) for c in feed_plan.truth)
    print(f"custseg replay: {len(feed_plan.events):,} events of {len(feed_plan.truth):,} carts "
          f"({fires:,} to be abandoned) written to {landing}; truth in {truth}")
    return 0
