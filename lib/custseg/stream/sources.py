"""Stream sources and the parsing of their rows into events of the declared `events` schema.

Every source yields ``value`` (one JSON event as text) and ``origin`` (file, or Kafka
topic/partition/offset). ``parse_events`` then types each row and names what is wrong with it,
so a malformed row becomes a reject with a reason and never stops the query.
"""

from __future__ import annotations

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.config import Config, SourceSpec
from custseg.config.model import StreamSettings
from custseg.errors import ConfigError, EnvironmentProblem

EVENT_TYPES = ("session_start", "page_view", "product_view", "add_to_cart", "remove_from_cart", "checkout")
KAFKA_MISSING = (
    "the Kafka source needs Spark's Kafka connector, which is not on the classpath: start the job with "
    "`./spark-submit.sh stream --kafka-packages` (adds {coordinate} from Maven) or put that jar in $SPARK_HOME/jars."
)


def kafka_coordinate() -> str:
    """The Kafka connector artifact matching the installed pyspark."""
    import pyspark

    return f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}"


def events_source(config: Config) -> SourceSpec:
    """The declared `events` source of conf/sources.yaml: its columns are the stream's schema."""
    if "events" not in config.sources:
        raise ConfigError(["sources.events: the stream reads events of the declared `events` source, "
                           "which conf/sources.yaml does not declare"])
    return config.sources["events"]


def read_raw(spark: SparkSession, settings: StreamSettings, landing_dir: str) -> DataFrame:
    """The configured source as (value, origin) text rows."""
    if settings.source == "files":
        return (spark.readStream.format("text").option("maxFilesPerTrigger", settings.max_files_per_trigger)
                .load(landing_dir).select("value", F.col("_metadata.file_path").alias("origin")))
    if settings.source == "kafka":
        return read_kafka(spark, settings)
    return read_rate(spark, settings)


def read_kafka(spark: SparkSession, settings: StreamSettings) -> DataFrame:
    """Kafka records as text; the connector's absence is one sentence saying how to add it."""
    reader = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", settings.kafka.servers)
              .option("subscribe", settings.kafka.topic).options(**settings.kafka.options))
    try:
        frame = reader.load()
    except AnalysisException as exc:
        if "kafka" in str(exc).lower() and "data source" in str(exc).lower():
            raise EnvironmentProblem(KAFKA_MISSING.format(coordinate=kafka_coordinate())) from None
        raise
    origin = F.concat_ws("/", F.col("topic"), F.col("partition").cast("string"), F.col("offset").cast("string"))
    return frame.select(F.col("value").cast("string").alias("value"), origin.alias("origin"))


def read_rate(spark: SparkSession, settings: StreamSettings) -> DataFrame:
    """Spark's rate source as a synthetic cart stream: each account views, adds to its cart and
    checks out every fourth cart, so load tests exercise the whole path."""
    frame = spark.readStream.format("rate").option("rowsPerSecond", settings.rate.rows_per_second).load()
    n = F.col("value")
    account = F.concat(F.lit("R"), (n % settings.rate.accounts).cast("string"))
    step = (n / settings.rate.accounts).cast("long") % 8
    kind = (F.when(step == 0, F.lit("session_start")).when(step.isin(1, 2), F.lit("product_view"))
            .when(step.isin(3, 4, 5), F.lit("add_to_cart")).when((step == 7) & (n % 4 == 0), F.lit("checkout"))
            .otherwise(F.lit("page_view")))
    event = F.struct(
        F.concat(F.lit("rate-"), n.cast("string")).alias("event_id"), account.alias("account_id"),
        F.concat(account, F.lit("-s")).alias("session_id"),
        F.date_format("timestamp", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX").alias("event_ts"), kind.alias("event_type"),
        F.concat(F.lit("P"), (n % 50).cast("string")).alias("product_id"), F.lit("web").alias("device"),
    )
    return frame.select(F.to_json(event).alias("value"), F.lit("rate").alias("origin"))


def parse_events(raw: DataFrame, source: SourceSpec) -> DataFrame:
    """Typed event columns, plus ``reject_reason`` (null for a usable event) and the raw text.

    Fields are read as text first, so a value of the wrong type is told apart from a missing one.
    """
    text_schema = T.StructType([T.StructField(c.name, T.StringType()) for c in source.columns])
    parsed = raw.withColumn("_fields", F.from_json("value", text_schema, {"mode": "PERMISSIVE"}))
    typed = [_typed(F.col("_fields")[c.name], c.type).alias(c.name) for c in source.columns]
    frame = parsed.select("value", "origin", "_fields", *typed)
    return frame.withColumn("reject_reason", _reject_reason(source)).drop("_fields")


def _typed(field: Column, type_name: str) -> Column:
    return field if type_name == "string" else field.try_cast(type_name)


def _reject_reason(source: SourceSpec) -> Column:
    """The first problem of a row, or null: blank, not JSON, a required field missing, a value
    not of its declared type, an unknown event type."""
    fields = F.col("_fields")
    trimmed = F.trim(F.col("value"))
    reason = F.when(trimmed == "", F.lit("blank line")).when(
        ~trimmed.startswith("{") | ~trimmed.endswith("}") | fields.isNull(), F.lit("bad JSON"))
    for column in source.columns:
        if column.required:
            reason = reason.when(fields[column.name].isNull(), F.lit(f"missing required value: {column.name}"))
        if column.type != "string":
            reason = reason.when(fields[column.name].isNotNull() & F.col(column.name).isNull(),
                                 F.lit(f"not a {column.type}: {column.name}"))
    return reason.when(~F.col("event_type").isin(*EVENT_TYPES), F.lit("unknown event_type"))
