"""Job `clean`: bronze tables standardized into silver tables, with a cleaning log."""

from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.clean import (
    FLAG_RULES,
    clean_events,
    clean_order_lines,
    clean_orders,
    clean_products,
    cleaning_log,
    latest_per_key,
    standardize_crm,
    standardize_web,
)
from custseg.config import Config
from custseg.runtime import JobContext, JobResult, run_job


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "clean", _clean, parent_run_id)


def _clean(ctx: JobContext) -> None:
    settings = ctx.config.clean
    today = F.current_date()
    records = standardize_crm(ctx.read("crm_customers"), settings, today).unionByName(
        standardize_web(ctx.read("web_accounts"), settings, today)
    )
    staged_records = ctx.write("customer_records", latest_per_key(records, ["source", "record_id"]))
    products = ctx.write("products_clean", clean_products(ctx.read("products"), settings))
    lines = ctx.write("order_lines_clean",
                      clean_order_lines(ctx.read("order_lines"), ctx.read("orders"), products, settings))
    orders = ctx.write("orders_clean", clean_orders(ctx.read("orders"), lines, settings))
    ctx.write("events_clean", clean_events(ctx.read("events")))
    logs = [
        cleaning_log(ctx.run_id, "customer_records", staged_records, ctx.rows_out["customer_records"], FLAG_RULES),
        cleaning_log(ctx.run_id, "order_lines_clean", lines, ctx.rows_out["order_lines_clean"], {}),
        cleaning_log(ctx.run_id, "orders_clean", orders, ctx.rows_out["orders_clean"], {}),
    ]
    ctx.write("cleaning_log", reduce(DataFrame.unionByName, logs))
