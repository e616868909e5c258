"""The silver and gold inputs the act stage needs, keyed by resolved customer."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame

from custseg.config.resolved import join_path
from custseg.errors import InputDataError
from custseg.features.customers import with_customer_ids
from custseg.files import exists
from custseg.runtime import JobContext


@dataclass
class CustomerData:
    master: DataFrame
    orders: DataFrame   # orders_clean with customer_id
    lines: DataFrame    # order_lines_clean
    events: DataFrame   # events_clean of logged-in accounts, with customer_id


def customer_data(ctx: JobContext) -> CustomerData:
    """Orders and events joined to their customer through the identity crosswalk."""
    orders, events = with_customer_ids(ctx.read("identity_crosswalk"), ctx.read("orders_clean"),
                                       ctx.read("events_clean"))
    return CustomerData(ctx.read("customer_master"), orders, ctx.read("order_lines_clean"), events)


def segment_model(ctx: JobContext) -> tuple[str, PipelineModel]:
    """The segmentation run behind ``segment_profiles`` and its saved model."""
    if not ctx.table_exists("segment_profiles"):
        raise InputDataError(f"{ctx.job}: there is no segmentation model yet; run `custseg segment` first")
    first = ctx.read("segment_profiles").select("model_run_id").first()
    if first is None:
        raise InputDataError(f"{ctx.job}: segment_profiles is empty; run `custseg segment` first")
    run_id = str(first.model_run_id)
    path = join_path(ctx.config.models_dir, "segmentation", run_id)
    if not exists(ctx.spark, path):
        raise InputDataError(f"{ctx.job}: the segmentation model of run {run_id!r} is missing at {path}")
    return run_id, PipelineModel.load(path)
