"""Job `features`: `customer_features` as of `features.as_of` (default: after the latest data)."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.config import Config
from custseg.features import build_features, default_as_of
from custseg.runtime import JobContext, JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "features", _features, parent_run_id)


def _features(ctx: JobContext) -> None:
    crosswalk = ctx.read("identity_crosswalk").select("source", "record_id", "customer_id")
    orders_all = ctx.read("orders_clean")
    events_all = ctx.read("events_clean")
    orders = orders_all.join(
        crosswalk, on=(orders_all.customer_source == crosswalk.source) & (orders_all.customer_ref == crosswalk.record_id), how="inner"
    ).drop("source", "record_id")
    web = crosswalk.filter(F.col("source") == "web_accounts")
    events = events_all.join(web, on=events_all.account_id == web.record_id, how="inner").drop("source", "record_id")
    as_of = ctx.config.features.as_of or default_as_of(orders_all, events_all)
    features = build_features(
        ctx.read("customer_master"), orders, ctx.read("order_lines_clean"), events, as_of, ctx.config.features
    )
    ctx.write("customer_features", features)
    ctx.metrics["as_of_date"] = as_of.isoformat()
    ctx.metrics["orders_without_customer"] = str(orders_all.join(
        crosswalk, on=(orders_all.customer_source == crosswalk.source) & (orders_all.customer_ref == crosswalk.record_id),
        how="left_anti").count())
