"""Golden records from the input's display values (not the matching keys)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.clean import address
from custseg.config.model import ResolveSettings
from custseg.resolve.golden import GOLDEN_FIELDS, golden_records
from custseg.resolve.identities import parsed_birth_date


def golden_from_input(frame: DataFrame, settings: ResolveSettings, crosswalk: DataFrame, source_name: str) -> DataFrame:
    """Golden records from the input's display values (not the matching keys)."""
    mapped = settings.column_names
    role_of = {"phone_e164": "phone"}

    def value(field: str) -> F.Column:
        role = role_of.get(field, field)
        if role in mapped:
            return F.col(mapped[role])
        return F.col(field) if field in frame.columns else F.lit(None)

    birth = parsed_birth_date(frame, settings, address.iso_country(value("country").cast("string"), {}))
    members = frame.select(
        (F.col(mapped["source"]).cast("string") if "source" in mapped else F.lit(source_name)).alias("source"),
        F.col(mapped["record_id"]).cast("string").alias("record_id"),
        *[(birth if f == "birth_date" else value(f).cast("string")).alias(f) for f in GOLDEN_FIELDS],
        (F.col("created_at") if "created_at" in frame.columns else F.lit(None)).cast("timestamp").alias("created_at"),
        (F.coalesce(F.col("updated_at"), F.col("created_at"))
         if "updated_at" in frame.columns and "created_at" in frame.columns
         else F.lit(None)).cast("timestamp").alias("recency"),
    ).join(crosswalk.select("source", "record_id", "customer_id"), ["source", "record_id"], "inner")
    golden = golden_records(members, settings.survivorship, settings.default_rule, settings.source_priority)
    # Inputs without creation or update times: the customer was first seen by this run.
    seen = F.coalesce(F.col("first_seen_at"), F.current_timestamp())
    return golden.withColumns({"first_seen_at": seen, "last_updated_at": F.coalesce(F.col("last_updated_at"), seen)})
