"""Orders and events keyed by the resolved customer, through the identity crosswalk."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def order_matches(orders: DataFrame, crosswalk: DataFrame) -> Column:
    """The join condition of an order and the crosswalk row of the record that placed it."""
    return (orders.customer_source == crosswalk.source) & (orders.customer_ref == crosswalk.record_id)


def with_customer_ids(crosswalk: DataFrame, orders: DataFrame, events: DataFrame) -> tuple[DataFrame, DataFrame]:
    """``orders`` and ``events`` (those of logged-in web accounts) with ``customer_id``; rows of
    records the crosswalk does not hold are left out."""
    crosswalk = crosswalk.select("source", "record_id", "customer_id")
    keyed_orders = orders.join(crosswalk, on=order_matches(orders, crosswalk), how="inner").drop("source", "record_id")
    web = crosswalk.filter(F.col("source") == "web_accounts")
    keyed_events = events.join(web, on=events.account_id == web.record_id, how="inner").drop("source", "record_id")
    return keyed_orders, keyed_events
