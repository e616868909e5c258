"""Job `features`: `customer_features` as of `features.as_of` (default: after the latest data),
with missing values and extremes treated by the configured policies and logged."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.config import Config
from custseg.features import build_features, default_as_of
from custseg.features.customers import order_matches, with_customer_ids
from custseg.features.treatment import flag_count, treat_features
from custseg.memory import stored
from custseg.runtime import JobContext, JobResult, run_job
from custseg.tables.silver import CLEANING_LOG


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "features", _features, parent_run_id)


def _features(ctx: JobContext) -> None:
    crosswalk = ctx.read("identity_crosswalk").select("source", "record_id", "customer_id")
    orders_all = ctx.read("orders_clean")
    events_all = ctx.read("events_clean")
    orders, events = with_customer_ids(crosswalk, orders_all, events_all)
    as_of = ctx.config.features.as_of or default_as_of(orders_all, events_all)
    # Stored: the treatment reads the built features once per statistic it needs (nulls, medians,
    # quantiles, samples), and each read would aggregate every order and event again.
    raw = build_features(ctx.read("customer_master"), orders, ctx.read("order_lines_clean"), events, as_of,
                         ctx.config.features).transform(stored)
    treatment = treat_features(raw, ctx.config.features)
    written = ctx.write("customer_features", treatment.features)
    total = ctx.rows_out["customer_features"]
    outliers = ("outlier_score", "isolation forest: most unusual customers flagged",
                flag_count(written, F.col("is_outlier")))
    entries = treatment.log + [outliers] * (ctx.config.features.outlier_model != "none")
    ctx.write_rows(CLEANING_LOG.name,
                   [(ctx.run_id, "customer_features", column, rule, rows, total) for column, rule, rows in entries])
    ctx.metrics["as_of_date"] = as_of.isoformat()
    unmatched = orders_all.join(crosswalk, on=order_matches(orders_all, crosswalk), how="left_anti")
    ctx.metrics["orders_without_customer"] = str(unmatched.count())
