"""Products, orders with lines, and web/app events, generated in Spark from each timeline.

Volumes scale with the persons table and nothing is built in a driver loop: orders, lines,
sessions and events are rows exploded from per-person counts, with every value a hash draw.
"""

from __future__ import annotations

import random
from decimal import Decimal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.columns import literal_map, lookup
from custseg.generate.draws import choice, integer_between, uniform
from custseg.generate.places import CURRENCY
from custseg.generate.timeline import CATEGORIES, days_before

PRODUCTS_PER_TIER_AND_CATEGORY = 20
TIER_PRICES = {0: (3.0, 30.0), 1: (30.0, 150.0), 2: (150.0, 900.0)}
BRANDS = ("Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Soylent", "Hooli")
REPLENISHABLE_CATEGORIES = ("grocery", "beauty")
OUT_OF_STOCK_SHARE = 0.06
DISCOUNT_CODES = {"WELCOME10": 0.10, "SAVE10": 0.10, "SPRING15": 0.15, "VIP20": 0.20, "FLASH25": 0.25}


def product_id(tier: Column, category_index: Column, item: Column) -> Column:
    return F.format_string("P%d%02d%03d", tier, category_index, item)


def products(spark: SparkSession, seed: int) -> DataFrame:
    """The catalogue: a fixed grid of tiers x categories x items (small, built on the driver)."""
    rng = random.Random(seed)
    stock_rng = random.Random(seed + 1)  # its own stream: drawing stock never shifts a price
    rows = []
    for tier, (low, high) in TIER_PRICES.items():
        for category_index, category in enumerate(CATEGORIES):
            for item in range(PRODUCTS_PER_TIER_AND_CATEGORY):
                price = Decimal(str(round(rng.uniform(low, high), 0) - 0.01))
                brand = rng.choice(BRANDS)
                stock = 0 if stock_rng.random() < OUT_OF_STOCK_SHARE else stock_rng.randint(1, 500)
                rows.append((f"P{tier}{category_index:02d}{item:03d}", f"{brand} {category} item {item + 1}",
                             category, brand, price, stock, category in REPLENISHABLE_CATEGORIES))
    return spark.createDataFrame(rows, "product_id string, product_name string, category string, brand string, "
                                       "list_price_usd decimal(12,2), stock_units int, replenishable boolean")


def orders(timeline: DataFrame, record_ids: DataFrame, seed: int, end_ts: Column) -> DataFrame:
    """One row per order with internal columns for the line generator (dropped on write)."""
    buyers = timeline.filter(F.col("n_orders") > 0).join(record_ids, on="person_id", how="inner")
    exploded = buyers.withColumn("order_no", F.explode(F.sequence(F.lit(1), F.col("n_orders"))))

    def u(purpose: str) -> Column:
        return uniform(seed, purpose, "person_id", "order_no")

    # Spread orders between the first and last order day; the first and last land exactly there.
    span = F.col("first_order_days") - F.col("last_order_days")
    days_ago = (
        F.when(F.col("order_no") == 1, F.col("first_order_days"))
        .when(F.col("order_no") == F.col("n_orders"), F.col("last_order_days"))
        .otherwise(F.col("last_order_days") + F.floor(u("day") * span))
    ).cast("int")
    has_crm, has_web = F.size("crm_ids") > 0, F.size("web_ids") > 0
    online = has_web & (~has_crm | (u("channel") < F.col("online_share")))
    status_u = u("status")
    with_code = u("discount") < F.col("discount_share")
    return exploded.select(
        "person_id", "archetype", "order_no", "country", "favourite_categories",
        "tier_budget", "tier_mid",
        F.concat(F.lit("O"), F.upper(F.hex(F.xxhash64(F.lit(seed), F.lit("order"), "person_id", "order_no"))))
        .alias("order_id"),
        F.when(online, F.lit("online")).otherwise(F.lit("store")).alias("channel"),
        F.when(online, choice(u("ref"), F.col("web_ids"))).otherwise(choice(u("ref"), F.col("crm_ids")))
        .alias("customer_ref"),
        days_before(end_ts, days_ago, u("time")).alias("order_ts"),
        _currency(F.col("country")).alias("currency"),
        F.when(status_u < 0.02, F.lit("cancelled")).when(status_u < 0.02 + F.col("return_share"), F.lit("returned"))
        .otherwise(F.lit("completed")).alias("status"),
        F.when(with_code & (F.col("archetype") == "new_customer"), F.lit("WELCOME10"))
        .when(with_code, choice(u("code"), list(DISCOUNT_CODES))).alias("discount_code"),
        F.when(online, choice(u("ship"), ["0.00", "4.99", "6.99"])).otherwise(F.lit("0.00"))
        .cast("decimal(10,2)").alias("shipping_amount"),
        integer_between(u("lines"), 1, 4).alias("n_lines"),
    )


def order_lines(orders_df: DataFrame, product_prices: DataFrame, rates: dict[str, float], seed: int) -> DataFrame:
    lines = orders_df.withColumn("line_no", F.explode(F.sequence(F.lit(1), F.col("n_lines"))))

    def u(purpose: str) -> Column:
        return uniform(seed, purpose, "order_id", "line_no")

    tier_u = u("tier")
    tier = (F.when(tier_u < F.col("tier_budget"), 0)
            .when(tier_u < F.col("tier_budget") + F.col("tier_mid"), 1)
            .otherwise(2))
    any_category = F.floor(u("category") * len(CATEGORIES)).cast("int")
    favourite = F.array_position(F.array(*map(F.lit, CATEGORIES)), choice(u("fav"), F.col("favourite_categories"))) - 1
    category_index = F.when(u("use_fav") < 0.6, favourite).otherwise(any_category)
    item = F.floor(u("item") * PRODUCTS_PER_TIER_AND_CATEGORY).cast("int")
    picked = lines.select(
        "order_id", "line_no", "currency", "discount_code",
        product_id(tier, category_index, item).alias("product_id"),
        F.when(tier == 0, integer_between(u("qty"), 1, 4)).when(tier == 1, integer_between(u("qty"), 1, 2))
        .otherwise(1).alias("quantity"),
    )
    rate = _rate(F.col("currency"), rates)
    priced = picked.join(F.broadcast(product_prices), on="product_id", how="inner")
    unit_price = F.round(F.col("list_price_usd").cast("double") / rate, 2)
    discount_share = _discount_share(F.col("discount_code"))
    return priced.select(
        "order_id", "line_no", "product_id", "quantity",
        unit_price.cast("decimal(12,2)").alias("unit_price"),
        F.round(unit_price * F.col("quantity") * discount_share, 2).cast("decimal(12,2)").alias("discount_amount"),
    )


def events(timeline: DataFrame, record_ids: DataFrame, seed: int, end_ts: Column, window_days: int = 120) -> DataFrame:
    """Sessions over the last ``window_days`` and their events, for persons with an account."""
    visitors = (timeline.filter(F.col("sessions_90d") > 0).join(record_ids, on="person_id", how="inner")
                .filter(F.size("web_ids") > 0))
    # New customers only browse since they arrived; everyone else across the whole window.
    window = F.least(F.lit(window_days), F.col("first_order_days") + 30)
    session_count = F.greatest(F.lit(1), F.round(F.col("sessions_90d") * window / 90).cast("int"))
    sessions = (visitors.withColumn("session_no", F.explode(F.sequence(F.lit(1), session_count)))
                .withColumn("window", window))

    def su(purpose: str) -> Column:
        return uniform(seed, purpose, "person_id", "session_no")

    cart = su("cart") < F.when(F.col("archetype") == "window_shopper", 0.8).otherwise(0.45)
    sessions = sessions.select(
        "person_id", "session_no",
        F.concat(F.lit("S"), F.upper(F.hex(F.xxhash64(F.lit(seed), F.lit("session"), "person_id", "session_no"))))
        .alias("session_id"),
        F.when(su("anonymous") < 0.05, F.lit(None).cast("string")).otherwise(choice(su("account"), F.col("web_ids")))
        .alias("account_id"),
        days_before(end_ts, F.floor(su("day") * F.col("window")).cast("int"), su("time")).alias("started_at"),
        choice(su("device"), ["web", "web", "ios", "android"]).alias("device"),
        cart.alias("has_cart"),
        (cart & (su("checkout") >= F.col("cart_abandonment"))).alias("has_checkout"),
        integer_between(su("events"), 2, 6).alias("n_events"),
        "favourite_categories",
    )
    return _session_events(sessions, seed)


def _session_events(sessions: DataFrame, seed: int) -> DataFrame:
    total = F.col("n_events") + F.when(F.col("has_checkout"), 1).otherwise(0)
    exploded = sessions.withColumn("event_no", F.explode(F.sequence(F.lit(0), total - 1)))

    def eu(purpose: str) -> Column:
        return uniform(seed, purpose, "session_id", "event_no")

    kind_u = eu("kind")
    event_type = (
        F.when(F.col("event_no") == 0, F.lit("session_start"))
        .when(F.col("has_checkout") & (F.col("event_no") == total - 1), F.lit("checkout"))
        .when(F.col("has_cart") & (F.col("event_no") == F.col("n_events") - 1), F.lit("add_to_cart"))
        .when(kind_u < 0.6, F.lit("product_view"))
        .when(kind_u < 0.93, F.lit("page_view"))
        .when(F.col("has_cart"), F.lit("remove_from_cart"))
        .otherwise(F.lit("page_view"))
    )
    with_type = exploded.withColumn("event_type", event_type)
    # Half of the product views and cart events are in the person's favourite categories.
    favourite = F.array_position(F.array(*map(F.lit, CATEGORIES)), choice(eu("fav"), F.col("favourite_categories"))) - 1
    category = F.when(eu("use_fav") < 0.5, favourite).otherwise(integer_between(eu("cat"), 0, len(CATEGORIES) - 1))
    product = product_id(
        integer_between(eu("tier"), 0, 2), category, integer_between(eu("item"), 0, PRODUCTS_PER_TIER_AND_CATEGORY - 1),
    )
    seconds = F.col("event_no") * 45 + (eu("gap") * 40).cast("int")
    return with_type.select(
        F.concat(F.lit("E"), F.upper(F.hex(F.xxhash64(F.lit(seed), F.lit("event"), "session_id", "event_no"))))
        .alias("event_id"),
        "account_id", "session_id",
        F.timestamp_seconds(F.unix_seconds("started_at") + seconds).alias("event_ts"),
        "event_type",
        F.when(F.col("event_type").isin("product_view", "add_to_cart", "remove_from_cart"), product)
        .alias("product_id"),
        "device",
    )


def _currency(country: Column) -> Column:
    result = F.when(country == "US", F.lit(CURRENCY["US"]))
    for code in ("GB", "DE", "FR"):
        result = result.when(country == code, F.lit(CURRENCY[code]))
    return result


def _rate(currency: Column, rates: dict[str, float]) -> Column:
    return F.element_at(literal_map({code: float(rates.get(code, 1.0)) for code in sorted(set(CURRENCY.values()))}),
                        currency)


def _discount_share(code: Column) -> Column:
    return F.coalesce(lookup(DISCOUNT_CODES, code), F.lit(0.0))
