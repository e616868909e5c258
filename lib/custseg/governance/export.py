"""segment_export: the segments of consented customers, for activation, with identifiers hashed.

Only customers whose latest consent for ``privacy.export_channel`` is opt_in now are exported
(``consent.opted_in``: the sources as they are and every recorded change). The
customer id, email and phone leave as keyed hashes (HMAC-SHA256 under the pseudonymization key):
an activation platform given the same key can match them, nobody else can read them back. The
raw PII columns of the sources never reach the export's declared columns.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.errors import TableError
from custseg.governance.consent import opted_in
from custseg.governance.keys import hmac_column, load_key, normalized
from custseg.runtime import JobContext
from custseg.tables.governance import SEGMENT_EXPORT


def pseudonymize(col: Column, key: bytes) -> Column:
    """A keyed hash of the identifier's normalized text; null stays null."""
    return F.when(col.isNotNull(), hmac_column(normalized(col), key))


def segment_export(
    segments_df: DataFrame, master_df: DataFrame, consented_df: DataFrame, channel: str, key: bytes,
    identifiers: list[str], run_id: str,
) -> DataFrame:
    """Consented customers' segments with hashed identifiers, in segment_export's columns.

    Args:
        consented_df: customer_id and recorded_at of the customers opted in to ``channel``.
    """
    contact = master_df.select("customer_id", *identifiers)
    joined = segments_df.join(consented_df, "customer_id", how="inner").join(contact, "customer_id", how="left")
    hashed = {name: pseudonymize(F.col(name), key) if name in identifiers else F.lit(None).cast("string")
              for name in ("email", "phone_e164")}
    return joined.select(
        pseudonymize(F.col("customer_id"), key).alias("customer_key"),
        hashed["email"].alias("email_hash"), hashed["phone_e164"].alias("phone_hash"),
        "segment_id", "segment_name", "parent_segment_id", "lifecycle_stage", "rfm_segment",
        F.lit(channel).alias("channel"), F.col("recorded_at").alias("consent_at"), "as_of_date",
        F.lit(run_id).alias("export_run_id"),
    )


def build_export(ctx: JobContext) -> None:
    """Job body of `export`."""
    key = load_key(ctx.config)
    pii = {c for source in ctx.config.sources.values() for c in source.pii}
    leaked = sorted(pii & set(SEGMENT_EXPORT.schema.fieldNames()))
    if leaked:  # a declaration change must never publish raw PII
        raise TableError(f"segment_export declares PII column(s) {leaked} of conf/sources.yaml")
    settings = ctx.config.privacy
    frame = segment_export(ctx.read("customer_segments"), ctx.read("customer_master"),
                           opted_in(ctx, settings.export_channel), settings.export_channel, key,
                           list(settings.export_identifiers), ctx.run_id)
    ctx.write(SEGMENT_EXPORT.name, frame)
