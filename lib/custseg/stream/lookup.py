"""What each decision needs to know about the customer behind an account: who they are, the
channels they consented to, their latest batch segment and churn decile.

The facts come from batch tables that change while a stream runs (a batch refresh, a recorded
opt-out), so ``LiveLookup`` checks the tables' versions before each micro-batch that decides
carts and rebuilds the lookup when one moved: an opt-out counts from the next such batch on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.runtime import JobContext, TableReader

LOOKUP_SCHEMA = T.StructType([
    T.StructField("account_id", T.StringType()), T.StructField("customer_id", T.StringType()),
    T.StructField("consented_channels", T.ArrayType(T.StringType())),
    T.StructField("batch_segment", T.StringType()), T.StructField("batch_segment_id", T.IntegerType()),
    T.StructField("churn_decile", T.IntegerType()),
])
# The batch tables the lookup reads besides those behind consent.
LOOKUP_TABLES = ("identity_crosswalk", "customer_segments", "propensity_scores")
# Each customer's latest consent per channel (customer_id, channel, status) from the tables a reader gives.
ConsentStates = Callable[[TableReader], DataFrame | None]


def customer_lookup(spark: SparkSession, crosswalk_df: DataFrame | None, consent_df: DataFrame | None,
                    segments_df: DataFrame | None, scores_df: DataFrame | None = None) -> DataFrame:
    """Account -> customer, consented channels, latest batch segment and latest churn decile.

    Args:
        consent_df: each customer's latest consent per channel (customer_id, channel, status);
            a channel is consented when its latest status is opt_in, and never without a row.
        scores_df: ``propensity_scores``; the churn decile is 1 for the tenth most likely to
            churn, and customers without an order have none.
    """
    if crosswalk_df is None:
        return spark.createDataFrame([], LOOKUP_SCHEMA)
    lookup = crosswalk_df.filter(F.col("source") == "web_accounts").select(
        F.col("record_id").alias("account_id"), "customer_id")
    if consent_df is not None:
        consented = consent_df.filter(F.col("status") == "opt_in").groupBy("customer_id").agg(
            F.array_sort(F.collect_set("channel")).alias("consented_channels"))
        lookup = lookup.join(consented, "customer_id", "left")
    else:
        lookup = lookup.withColumn("consented_channels", F.lit(None).cast("array<string>"))
    if segments_df is not None:
        lookup = lookup.join(segments_df.select("customer_id", F.col("segment_name").alias("batch_segment"),
                                                F.col("segment_id").alias("batch_segment_id")), "customer_id", "left")
    else:
        lookup = lookup.select("*", F.lit(None).cast("string").alias("batch_segment"),
                               F.lit(None).cast("int").alias("batch_segment_id"))
    if scores_df is not None:
        churn = scores_df.filter(F.col("target") == "churn").select("customer_id",
                                                                    F.col("decile").alias("churn_decile"))
        lookup = lookup.join(churn, "customer_id", "left")
    else:
        lookup = lookup.withColumn("churn_decile", F.lit(None).cast("int"))
    return lookup.select(*LOOKUP_SCHEMA.fieldNames())


class LiveLookup:
    """The customer lookup as of the latest versions of the tables behind it, built on first use,
    persisted, and rebuilt only when one of them has a new version or appeared.

    Args:
        consent: each customer's latest consent per channel; None: nobody has consented.
        consent_tables: the tables ``consent`` reads, watched with the lookup's own.
    """

    def __init__(self, ctx: JobContext, consent: ConsentStates | None, consent_tables: Sequence[str] = ()):
        self.ctx = ctx
        self.consent = consent
        self.watched = tuple(dict.fromkeys((*LOOKUP_TABLES, *consent_tables)))
        self.versions: dict[str, int | None] | None = None
        self.frame: DataFrame | None = None
        self.builds = 0

    def current(self) -> DataFrame:
        versions = {name: self._version(name) for name in self.watched}
        if self.frame is None or versions != self.versions:
            self._rebuild(versions)
        assert self.frame is not None
        return self.frame

    def release(self) -> None:
        if self.frame is not None:
            self.frame.unpersist()
            self.frame = None

    def _version(self, name: str) -> int | None:
        path = self.ctx.catalog.path(name)
        return self.ctx.store.version(path) if self.ctx.store.exists(path) else None

    def _rebuild(self, versions: dict[str, int | None]) -> None:
        def read(name: str) -> DataFrame | None:
            version = versions.get(name)
            return None if version is None else self.ctx.read(name, version)

        consent = self.consent(read) if self.consent is not None else None
        frame = customer_lookup(self.ctx.spark, read("identity_crosswalk"), consent, read("customer_segments"),
                                read("propensity_scores")).persist()
        self.release()
        self.frame, self.versions = frame, versions
        self.builds += 1
