"""Assemble the sample: persons, their records, orders and events, and write the raw files."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config.model import GenerateSettings
from custseg.config.resolved import join_path
from custseg.files import remove
from custseg.generate import commerce, rawfiles
from custseg.generate.draws import uniform
from custseg.generate.persons import generate_persons
from custseg.generate.rawfiles import ROW_ORDER, Corruption
from custseg.generate.records import CRM_COLUMNS, WEB_COLUMNS, crm_records, web_accounts
from custseg.generate.timeline import end_instant, with_timeline

CSV_CORRUPTIONS = {
    "crm_customers": [
        Corruption("extra_field", "street"), Corruption("unterminated_quote", "email"),
        Corruption("bad_type", "created_at", "31/02/2024 25:61"), Corruption("missing_required", "crm_id"),
        Corruption("bad_type", "opt_in", "maybe"),
    ],
    "orders": [
        Corruption("extra_field", "discount_code"), Corruption("bad_type", "order_ts", "yesterday"),
        Corruption("bad_type", "shipping_amount", "free"), Corruption("missing_required", "customer_ref"),
    ],
    "order_lines": [
        Corruption("bad_type", "quantity", "two"), Corruption("bad_type", "unit_price", "N/A"),
        Corruption("missing_required", "product_id"), Corruption("extra_field", "product_id"),
    ],
}


@dataclass
class SampleData:
    persons: DataFrame      # persons with timeline columns
    crm: DataFrame          # CRM rows + person_id, noise
    web: DataFrame          # web accounts + person_id, noise
    orders: DataFrame
    order_lines: DataFrame
    products: DataFrame
    events: DataFrame

    def unpersist(self) -> None:
        for frame in (self.persons, self.crm, self.web, self.orders):
            frame.unpersist()


def build_sample(spark: SparkSession, settings: GenerateSettings, rates: dict[str, float]) -> SampleData:
    seed = settings.seed
    end_ts = end_instant(settings.end_date)
    timeline = with_timeline(generate_persons(spark, settings), seed).persist(StorageLevel.MEMORY_AND_DISK)
    crm = crm_records(timeline, seed, end_ts).persist(StorageLevel.MEMORY_AND_DISK)
    web = web_accounts(timeline, seed, end_ts).persist(StorageLevel.MEMORY_AND_DISK)
    record_ids = (
        timeline.select("person_id")
        .join(crm.groupBy("person_id").agg(F.array_sort(F.collect_list("crm_id")).alias("crm_ids")),
              "person_id", "left")
        .join(web.groupBy("person_id").agg(F.array_sort(F.collect_list("account_id")).alias("web_ids")),
              "person_id", "left")
        .select("person_id", F.coalesce("crm_ids", F.array().cast("array<string>")).alias("crm_ids"),
                F.coalesce("web_ids", F.array().cast("array<string>")).alias("web_ids"))
    )
    products = commerce.products(spark, seed)
    orders = commerce.orders(timeline, record_ids, seed, end_ts).persist(StorageLevel.MEMORY_AND_DISK)
    lines = commerce.order_lines(orders, products.select("product_id", "list_price_usd"), rates, seed)
    events = commerce.events(timeline, record_ids, seed, end_ts)
    return SampleData(timeline, crm, web, orders, lines, products, events)


RAW_SOURCES = ("crm_customers", "web_accounts", "orders", "order_lines", "products", "events")
PEOPLE_EXPORT = "people_export"


def people_export(sample: SampleData, seed: int) -> DataFrame:
    """The CRM records as one system's export a user might bring to resolve: no email and no
    phone, dates of birth in ISO 8601 basic format (``19560409``), and a national id that is
    missing from a fifth of the records and one digit off in a few. ``id`` is the CRM id, so
    ``truth_records`` scores the result."""
    def u(purpose: str) -> Column:
        return uniform(seed, purpose, "crm_id")

    national_id = F.format_string("%09d", F.pmod(F.xxhash64(F.lit(seed), F.col("person_id")), F.lit(10**9)))
    position = (F.floor(u("nid_position") * 9) + 1).cast("int")
    digit = ((F.substring(national_id, position, 1).cast("int") + 1) % 10).cast("string")
    truth = sample.persons.select("person_id", "birth_date")
    born = F.col("true_birth_date")
    swapped = F.array_contains("noise", "day_month_swapped") & (F.dayofmonth(born) <= 12)
    return sample.crm.join(truth.withColumnRenamed("birth_date", "true_birth_date"), "person_id", "inner").select(
        F.col("crm_id").alias("id"), "first_name", F.col("last_name").alias("surname"),
        F.when(F.array_contains("noise", "birth_date_missing"), F.lit(None))
        .when(swapped, F.date_format(F.make_date(F.year(born), F.dayofmonth(born), F.month(born)), "yyyyMMdd"))
        .otherwise(F.date_format(born, "yyyyMMdd")).alias("dob"),
        F.when(u("nid_missing") < 0.2, F.lit(None))
        .when(u("nid_typo") < 0.03, F.overlay(national_id, digit, position, F.lit(1)))
        .otherwise(national_id).alias("national_id"),
        "street", F.col("postcode").alias("zip"), "city", "country",
    )


def stage_raw_files(sample: SampleData, staging_dir: str, settings: GenerateSettings) -> None:
    """Write every source's files under ``staging_dir/<source>``."""
    seed, rate, files = settings.seed, settings.bad_row_rate, settings.files_per_source
    staged = {name: join_path(staging_dir, name) for name in RAW_SOURCES}

    def write_csv(name: str, frame: DataFrame, order: Column) -> None:
        keyed = frame.withColumn(ROW_ORDER, order)
        corrupted = rawfiles.corrupt_columns(keyed, ROW_ORDER, seed, rate, CSV_CORRUPTIONS[name])
        rawfiles.write_csv(corrupted, staged[name], files)

    write_csv("crm_customers", sample.crm.select(*CRM_COLUMNS), F.col("crm_id"))
    rawfiles.write_json_lines(sample.web.select(*WEB_COLUMNS), staged["web_accounts"], files, "account_id",
                              seed, rate, typed_column="created_at", required_column="account_id")
    orders = sample.orders.select(
        "order_id", "channel", "customer_ref", F.date_format("order_ts", "yyyy-MM-dd'T'HH:mm:ss").alias("order_ts"),
        "currency", "status", "discount_code", "shipping_amount",
    )
    write_csv("orders", orders, F.col("order_id"))
    write_csv("order_lines", sample.order_lines, F.format_string("%s#%03d", "order_id", "line_no"))
    rawfiles.write_parquet(sample.products, staged["products"], 1)
    events = sample.events.withColumn("event_ts", F.date_format("event_ts", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"))
    rawfiles.write_json_lines(events, staged["events"], files, "event_id", seed, rate,
                              typed_column="event_ts", required_column="event_id")
    if settings.people_export:
        rawfiles.write_csv(people_export(sample, seed).withColumn(ROW_ORDER, F.col("id")),
                           join_path(staging_dir, PEOPLE_EXPORT), 1)


def publish_raw_files(spark: SparkSession, staging_dir: str, raw_dir: str, people: bool = False) -> dict[str, str]:
    """Move each staged source folder over the previous export; returns the new paths."""
    published = {}
    for name in RAW_SOURCES + ((PEOPLE_EXPORT,) if people else ()):
        published[name] = join_path(raw_dir, name)
        rawfiles.publish(spark, join_path(staging_dir, name), published[name])
    remove(spark, staging_dir)
    return published


def truth_persons(sample: SampleData) -> DataFrame:
    return sample.persons.select(
        "person_id", "archetype", "first_name", "last_name", "gender", "birth_date", "email",
        "phone_e164", "street", "city", "postcode", "country", "income",
    )


def truth_records(sample: SampleData) -> DataFrame:
    crm = sample.crm.select(F.lit("crm_customers").alias("source"), F.col("crm_id").alias("record_id"),
                            "person_id", "noise")
    web = sample.web.select(F.lit("web_accounts").alias("source"), F.col("account_id").alias("record_id"),
                            "person_id", "noise")
    return crm.unionByName(web)
