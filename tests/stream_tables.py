"""Batch tables the stream reads, written with only the columns a stream test cares about."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pyspark.sql import SparkSession
from pyspark.sql import types as T

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.delta import CommitInfo
from custseg.runtime import table_store

PRODUCTS = [("P1", 12.5), ("P2", 40.0), ("P3", 99.0)]


def placeholder(field: T.StructField) -> object:
    """A value of the field's type for a required column the test does not care about."""
    kind = field.dataType
    if isinstance(kind, T.ArrayType):
        return []
    if isinstance(kind, T.TimestampType):
        return dt.datetime(2026, 1, 1)
    if isinstance(kind, T.StringType):
        return "x"
    return 0


def write_table(spark: SparkSession, config: Config, name: str, rows: list[dict[str, object]]) -> None:
    """A batch table with only the columns a test cares about; required others get placeholders."""
    spec = Catalog(config).spec(name)
    full = [tuple(row.get(f.name, None if f.nullable else placeholder(f)) for f in spec.schema.fields) for row in rows]
    table_store(spark, config).write(Catalog(config).path(name), spark.createDataFrame(full, spec.schema),
                                     CommitInfo("test", "test"))


def batch_tables(spark: SparkSession, config: Config, accounts: list[str]) -> None:
    """Every account is a customer; even ones consented to marketing, odd ones did not."""
    write_table(spark, config, "identity_crosswalk", [
        {"source": "web_accounts", "record_id": a, "customer_id": f"C{i}", "cluster_size": 1}
        for i, a in enumerate(accounts)])
    write_table(spark, config, "customer_records", [
        {"source": "web_accounts", "record_id": a, "opt_in": i % 2 == 0} for i, a in enumerate(accounts)])
    write_table(spark, config, "customer_segments", [
        {"customer_id": f"C{i}", "segment_id": 4, "segment_name": "High-value loyal",
         "as_of_date": dt.date(2026, 6, 30)} for i in range(len(accounts))])
    write_table(spark, config, "products_clean",
                [{"product_id": p, "list_price": Decimal(str(v))} for p, v in PRODUCTS])
