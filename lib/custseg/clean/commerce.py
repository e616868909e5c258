"""Orders, order lines, events and products: typed, deduplicated, in the reporting currency."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from custseg.clean.values import UNKNOWN, to_reporting_currency
from custseg.columns import lookup
from custseg.config.model import CleanSettings

ORDER_STATUSES = ("completed", "returned", "cancelled")
EVENT_TYPES = ("session_start", "page_view", "product_view", "add_to_cart", "remove_from_cart", "checkout")
DEVICES = ("web", "ios", "android")
CHANNEL_SOURCES = {"store": "crm_customers", "online": "web_accounts"}


def latest_per_key(frame: DataFrame, keys: list[str]) -> DataFrame:
    """One row per key: the last one delivered (latest file, then latest line)."""
    newest_first = Window.partitionBy(*keys).orderBy(F.col("source_file").desc(), F.col("source_line").desc())
    return frame.withColumn("_rank", F.row_number().over(newest_first)).filter(F.col("_rank") == 1).drop("_rank")


def clean_products(products: DataFrame, settings: CleanSettings) -> DataFrame:
    return latest_per_key(products, ["product_id"]).select(
        "product_id", F.trim("product_name").alias("product_name"), F.lower(F.trim("category")).alias("category"),
        F.trim("brand").alias("brand"),
        to_reporting_currency(F.col("list_price_usd"), F.lit("USD"), settings.currency_rates).alias("list_price"),
        *[F.col(c) if c in products.columns else F.lit(None).cast(t).alias(c)
          for c, t in (("stock_units", "int"), ("replenishable", "boolean"))],
    )


def clean_order_lines(lines: DataFrame, orders: DataFrame, products: DataFrame, settings: CleanSettings) -> DataFrame:
    """Lines priced in the reporting currency; ``orders`` gives each line its currency."""
    unique = latest_per_key(lines, ["order_id", "line_no"])
    currencies = latest_per_key(orders, ["order_id"]).select("order_id", "currency")
    joined = (
        unique.join(currencies, on="order_id", how="left")
        .join(products.select("product_id", "category"), on="product_id", how="left")
    )
    unit = to_reporting_currency(F.col("unit_price"), F.col("currency"), settings.currency_rates)
    discount = to_reporting_currency(F.coalesce(F.col("discount_amount"), F.lit(0)), F.col("currency"),
                                     settings.currency_rates)
    gross = (unit * F.col("quantity")).cast("decimal(14,2)")
    flags = F.array_compact(F.array(
        F.when(F.col("currency").isNull(), F.lit("orphan_line")),
        F.when(F.col("category").isNull(), F.lit("unknown_product")),
        F.when(F.col("quantity") <= 0, F.lit("non_positive_quantity")),
    ))
    return joined.select(
        "order_id", "line_no", "product_id", F.coalesce("category", F.lit(UNKNOWN)).alias("category"),
        "quantity", unit.alias("unit_price"), gross.alias("gross_amount"), discount.alias("discount_amount"),
        (gross - discount).cast("decimal(14,2)").alias("net_amount"), flags.alias("quality_flags"),
    )


def clean_orders(orders: DataFrame, lines_clean: DataFrame, settings: CleanSettings) -> DataFrame:
    totals = lines_clean.groupBy("order_id").agg(
        F.sum("quantity").cast("int").alias("items"),
        F.sum("gross_amount").cast("decimal(14,2)").alias("gross_amount"),
        F.sum("discount_amount").cast("decimal(14,2)").alias("discount_amount"),
    )
    unique = latest_per_key(orders, ["order_id"]).join(totals, on="order_id", how="left")
    status = F.lower(F.trim("status"))
    channel = F.lower(F.trim("channel"))
    source = lookup(CHANNEL_SOURCES, channel)
    code = F.when(F.trim("discount_code") != "", F.upper(F.trim("discount_code")))
    shipping = to_reporting_currency(F.coalesce(F.col("shipping_amount"), F.lit(0)), F.col("currency"),
                                     settings.currency_rates)
    known_currency = F.upper(F.col("currency")).isin(*[c.upper() for c in settings.currency_rates])
    flags = F.array_compact(F.array(
        F.when(F.col("items").isNull(), F.lit("no_lines")),
        F.when(~known_currency, F.lit("unknown_currency")),
        F.when(~status.isin(*ORDER_STATUSES), F.lit("unknown_status")),
        F.when(source.isNull(), F.lit("unknown_channel")),
    ))
    discount = F.coalesce(F.col("discount_amount"), F.lit(0).cast("decimal(14,2)"))
    return unique.select(
        "order_id", channel.alias("channel"), F.coalesce(source, F.lit(UNKNOWN)).alias("customer_source"),
        F.trim("customer_ref").alias("customer_ref"),
        "order_ts", F.to_date("order_ts").alias("order_date"), F.upper(F.trim("currency")).alias("currency"),
        _known(status, ORDER_STATUSES).alias("status"), code.alias("discount_code"),
        (code.isNotNull() | (discount > 0)).alias("has_discount"),
        F.coalesce("items", F.lit(0)).alias("items"), "gross_amount", F.col("discount_amount"),
        (F.col("gross_amount") - discount).cast("decimal(14,2)").alias("net_amount"),
        shipping.alias("shipping_amount"), flags.alias("quality_flags"),
    )


def clean_events(events: DataFrame) -> DataFrame:
    unique = latest_per_key(events, ["event_id"])
    return unique.select(
        "event_id", F.when(F.trim("account_id") != "", F.trim("account_id")).alias("account_id"), "session_id",
        "event_ts", F.to_date("event_ts").alias("event_date"),
        _known(F.lower(F.trim("event_type")), EVENT_TYPES).alias("event_type"),
        "product_id", _known(F.lower(F.trim("device")), DEVICES).alias("device"),
    )


def _known(value: Column, allowed: tuple[str, ...]) -> Column:
    return F.when(value.isin(*allowed), value).otherwise(F.lit(UNKNOWN))
