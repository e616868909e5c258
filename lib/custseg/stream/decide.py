"""From abandoned carts to activation rows: real-time segment, the customer behind the account
(``lookup``), routing to a channel, consent for it, and the frequency cap.

A decision is activated only when the account resolves to a customer, a routing rule sends it
to a channel, the customer's latest consent for that channel is an opt-in and the customer is
under the cap; otherwise it is kept as ``suppressed`` with the first reason that applies, in
that order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from custseg.config.model import ANY_CHURN_DECILE, RoutingRule, StreamSettings
from custseg.stream.kmeans import Centres, labels, nearest_cluster

# An identifier column -> its keyed hash (null stays null).
Pseudonymizer = Callable[[Column], Column]


def with_realtime_segment(decisions_df: DataFrame, model: Centres, names: Sequence[str]) -> DataFrame:
    """Adds ``cluster`` (nearest centre) and ``realtime_segment`` (its label)."""
    label = F.element_at(F.array(*[F.lit(n) for n in names]), F.col("cluster") + 1)
    return decisions_df.withColumn("cluster", nearest_cluster(model)).withColumn("realtime_segment", label)


def route(rules: Sequence[RoutingRule]) -> tuple[Column, Column]:
    """Channel and campaign of the first matching rule; ``none`` and null when no rule matches.
    A rule with ``max_churn_decile`` below 10 matches only customers scored at or above that
    churn decile (1 is the highest risk), so unscored customers fall through to the next rule."""
    channel: Column | None = None
    campaign: Column | None = None
    for rule in rules:
        match = F.col("reason") == rule.reason
        if rule.segment != "*":
            match = match & (F.col("realtime_segment") == rule.segment)
        if rule.batch_segment != "*":
            match = match & (F.col("batch_segment") == rule.batch_segment)
        if rule.max_churn_decile < ANY_CHURN_DECILE:
            match = match & F.coalesce(F.col("churn_decile") <= rule.max_churn_decile, F.lit(False))
        channel = (F.when(match, F.lit(rule.channel)) if channel is None else channel.when(match, F.lit(rule.channel)))
        campaign = (F.when(match, F.lit(rule.campaign)) if campaign is None
                    else campaign.when(match, F.lit(rule.campaign)))
    if channel is None or campaign is None:
        return F.lit("none"), F.lit(None).cast("string")
    return F.coalesce(channel, F.lit("none")), campaign


def decide(decisions_df: DataFrame, model: Centres, settings: StreamSettings, lookup_df: DataFrame,
           prior_df: DataFrame | None, batch_id: int, query_id: str, pseudonymize: Pseudonymizer) -> DataFrame:
    """Activation rows (the ``activations`` columns) for one micro-batch of abandoned carts.

    Args:
        decisions_df: the cart processor's rows (``carts.DECISION_SCHEMA``).
        prior_df: earlier activations (customer_id, status, window_expired_at), for the cap.
        pseudonymize: the keyed hash that replaces the account id (personal data, declared PII
            of the events source) in every column of the row, the cart and decision ids included.
    """
    names = labels(model, settings.kmeans)
    timed = decisions_df.select(
        "*", F.lit("abandoned_cart").alias("reason"),
        F.timestamp_millis("last_cart_ms").alias("event_time"),
        F.timestamp_millis("expired_ms").alias("window_expired_at"))
    scored = with_realtime_segment(timed, model, names).join(F.broadcast(lookup_df), "account_id", "left")
    channel, campaign = route(settings.routing)
    routed = scored.select("*", channel.alias("channel"), campaign.alias("campaign"))
    consented = F.coalesce(F.array_contains("consented_channels", F.col("channel")), F.lit(False))
    first_reason = (F.when(F.col("customer_id").isNull(), F.lit("unresolved_customer"))
                    .when(F.col("channel") == "none", F.lit("no_channel"))
                    .when(~consented, F.lit("no_consent")))
    reasoned = routed.withColumn("suppression", first_reason).transform(
        _with_frequency_cap, prior_df, settings.frequency_cap, settings.frequency_cap_hours)
    account_key = pseudonymize(F.col("account_id"))
    cart_key = F.concat(account_key, F.lit("-"), F.regexp_extract("cart_id", r"-(\d+)$", 1))
    return reasoned.select(
        F.sha2(F.concat_ws("|", cart_key, F.col("last_cart_ms").cast("string")), 256).alias("activation_id"),
        "customer_id", account_key.alias("account_key"), cart_key.alias("cart_id"), "realtime_segment", "cluster",
        "batch_segment", "batch_segment_id", "reason", "cart_value", "cart_items", "session_minutes", "recent_views",
        "device", "event_time", "window_expired_at", F.current_timestamp().alias("decided_at"), "channel", "campaign",
        F.when(F.col("suppression").isNull(), F.lit("activated")).otherwise(F.lit("suppressed")).alias("status"),
        "suppression", F.lit(batch_id).cast("bigint").alias("batch_id"), F.lit(query_id).alias("query_id"),
    )


def _with_frequency_cap(df: DataFrame, prior_df: DataFrame | None, cap: int, hours: float) -> DataFrame:
    """Suppress (``frequency_cap``) activations past ``cap`` per customer within ``hours`` of event
    time, counting earlier activations and this batch's in expiry order."""
    eligible = F.col("suppression").isNull()
    order = Window.partitionBy("customer_id", eligible).orderBy("window_expired_at", "cart_id")
    ranked = df.withColumn("_rank", F.row_number().over(order))
    if prior_df is not None:
        horizon = ranked.agg(F.min("window_expired_at")).first()
        since = horizon[0] - dt.timedelta(hours=hours) if horizon and horizon[0] else None
        prior = prior_df.filter((F.col("status") == "activated") & (F.col("window_expired_at") >= F.lit(since)))
        counts = prior.groupBy("customer_id").agg(F.count(F.lit(1)).alias("_prior"))
        ranked = ranked.join(counts, "customer_id", "left")
    else:
        ranked = ranked.withColumn("_prior", F.lit(0))
    over_cap = eligible & ((F.coalesce(F.col("_prior"), F.lit(0)) + F.col("_rank")) > cap)
    return ranked.withColumn("suppression", F.when(over_cap, F.lit("frequency_cap")).otherwise(F.col("suppression"))) \
        .drop("_rank", "_prior")
