"""Consent per customer and channel: events from the sources' consent fields and from people.

Each source record's ``opt_in`` (customer_records, general marketing consent) is a consent event
for each of ``privacy.opt_in_channels`` at the record's last update; an opt-in or opt-out
recorded with ``custseg consent set`` is an event of its own (origin ``recorded:<who>``) and
survives every rebuild, re-keyed to the id that holds its customer's records now. A customer's
state for a channel is its latest event; at equal times a recorded event wins over a source
field, and an opt-out over an opt-in. A source record's time is its last update, whatever
changed, so a source opt-in never overrides a recorded opt-out: an address edited in the CRM
after a customer withdrew through the preference centre must not make them reachable again.
Only a later recorded opt-in does.

Whatever acts on consent (the export, the stream, recommendations) reads the current events
(``consent_events``): the sources as they are now plus every recorded event, so that neither a
stale ``consent`` table nor one never built lets a withdrawn consent through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from custseg.errors import InputDataError
from custseg.runtime import JobContext, TableReader
from custseg.tables.governance import CONSENT

RECORDED = "recorded:"
# The tables consent_events reads: a new version of any of them can change a customer's consent.
CONSENT_INPUTS = ("customer_records", "identity_crosswalk", CONSENT.name, "customer_id_map")


def source_consent(records_df: DataFrame, crosswalk_df: DataFrame, channels: Sequence[str], run_id: str) -> DataFrame:
    """One consent event per source record with a consent value and channel, keyed by its customer."""
    return (
        records_df.filter(F.col("opt_in").isNotNull())
        .join(crosswalk_df.select("source", "record_id", "customer_id"), ["source", "record_id"], how="inner")
        .select(
            "customer_id", F.explode(F.array(*[F.lit(c) for c in channels])).alias("channel"),
            F.when(F.col("opt_in"), F.lit("opt_in")).otherwise(F.lit("opt_out")).alias("status"),
            F.coalesce("updated_at", "created_at").alias("recorded_at"),
            F.concat("source", F.lit(":"), "record_id").alias("origin"), F.lit(run_id).alias("run_id"),
        )
    )


def recorded_consent(consent_df: DataFrame, id_map_df: DataFrame | None) -> DataFrame:
    """Events people recorded, each moved to the customer id holding its records now (dropped if none)."""
    recorded = consent_df.filter(F.col("origin").startswith(RECORDED))
    if id_map_df is None:
        return recorded
    id_map = id_map_df.select("customer_id", "current_customer_id", F.lit(True).alias("is_mapped"))
    mapped = recorded.join(id_map, "customer_id", how="left")
    # an id the map marks deleted (no current id) has no customer left to hold the consent
    return mapped.filter(F.col("current_customer_id").isNotNull() | F.col("is_mapped").isNull()).select(
        F.coalesce("current_customer_id", "customer_id").alias("customer_id"),
        *[c for c in CONSENT.schema.fieldNames() if c != "customer_id"],
    )


def consent_events(read: TableReader, opt_in_channels: Sequence[str], run_id: str) -> DataFrame | None:
    """Every consent event as of the tables ``read`` gives (``CONSENT_INPUTS``): the sources' and the
    recorded ones; None before resolve has written customer_records and identity_crosswalk."""
    records, crosswalk = read("customer_records"), read("identity_crosswalk")
    if records is None or crosswalk is None:
        return None
    events = source_consent(records, crosswalk, opt_in_channels, run_id)
    stored = read(CONSENT.name)
    if stored is not None:
        events = events.unionByName(recorded_consent(stored, read("customer_id_map")))
    return events


def latest_states(consent_df: DataFrame) -> DataFrame:
    """customer_id, channel, status and recorded_at of each customer's latest event per channel,
    source opt-ins set aside where the latest recorded event is an opt-out (see the module)."""
    key = Window.partitionBy("customer_id", "channel")
    order = key.orderBy(F.col("recorded_at").desc(), F.col("origin").startswith(RECORDED).desc(),
                        F.col("status").desc())
    recorded = F.col("origin").startswith(RECORDED)
    latest_recorded = F.max_by(F.when(recorded, F.col("status")),
                               F.when(recorded, F.struct("recorded_at", F.col("status") == "opt_out"))).over(key)
    overridden = ~recorded & (F.col("status") == "opt_in") & (F.col("latest_recorded") == "opt_out")
    return (
        consent_df.withColumn("latest_recorded", latest_recorded)
        .filter(~F.coalesce(overridden, F.lit(False)))
        .withColumn("rank", F.row_number().over(order))
        .filter(F.col("rank") == 1).select("customer_id", "channel", "status", "recorded_at")
    )


def current_states(read: TableReader, opt_in_channels: Sequence[str], run_id: str) -> DataFrame | None:
    """``latest_states`` of ``consent_events``: each customer's consent per channel now."""
    events = consent_events(read, opt_in_channels, run_id)
    return None if events is None else latest_states(events)


def latest_consent(consent_df: DataFrame, channel: str) -> DataFrame:
    """customer_id, status and recorded_at of each customer's latest event for ``channel``."""
    return latest_states(consent_df.filter(F.col("channel") == channel)).drop("channel")


def opted_in(ctx: JobContext, channel: str) -> DataFrame:
    """customer_id and recorded_at of every customer whose latest consent for ``channel`` is opt_in now.

    Raises:
        InputDataError: resolve has not written customer_records and identity_crosswalk yet.
    """
    events = consent_events(ctx.read_optional, ctx.config.privacy.opt_in_channels, ctx.run_id)
    if events is None:
        raise InputDataError(f"job {ctx.job} needs consent, which comes from customer_records and "
                             "identity_crosswalk; run `custseg resolve` first")
    return latest_consent(events, channel).filter(F.col("status") == "opt_in").drop("status")


def build_consent(ctx: JobContext) -> None:
    """Job body of `consent build`."""
    rebuilt = source_consent(ctx.read("customer_records"), ctx.read("identity_crosswalk"),
                             ctx.config.privacy.opt_in_channels, ctx.run_id)
    if ctx.table_exists(CONSENT.name):
        rebuilt = rebuilt.unionByName(recorded_consent(ctx.read(CONSENT.name), ctx.read_optional("customer_id_map")))
    ctx.write(CONSENT.name, rebuilt, mode="overwrite")


def record_consent(ctx: JobContext, customer_id: str, channel: str, status: str, by: str, at: dt.datetime) -> None:
    """Job body of `consent set`: one recorded event, appended.

    Raises:
        InputDataError: unknown channel or status, or a customer id no crosswalk row carries.
    """
    channels = ctx.config.privacy.consent_channels
    if channel not in channels:
        raise InputDataError(f"consent: channel {channel!r} is not one of privacy.consent_channels {channels}")
    if status not in ("opt_in", "opt_out"):
        raise InputDataError(f"consent: status must be opt_in or opt_out, not {status!r}")
    if ctx.read("identity_crosswalk").filter(F.col("customer_id") == customer_id).limit(1).count() == 0:
        raise InputDataError(f"consent: no customer {customer_id!r} in identity_crosswalk")
    row = [(customer_id, channel, status, at, f"{RECORDED}{by}", ctx.run_id)]
    ctx.write_rows(CONSENT.name, row, mode="append")
