"""Job `resolve`: source records into customers, in full or incrementally (`--incremental`).

Writes match_pairs (every scored candidate pair, explained), review_queue, identity_crosswalk
with stable customer ids, customer_master (golden records), identity_changes and
customer_id_map (how ids moved), blocking_diagnostics and resolution_metrics (with pairwise and
B-cubed quality when ground truth exists), and the state an incremental run starts from; saves
the model as JSON for inspection and reuse.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from functools import partial

from pyspark.sql import DataFrame, SparkSession

from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.errors import InputDataError
from custseg.files import read_text
from custseg.governance.filters import erased_filter
from custseg.resolve import (
    MATCHING_STARTS,
    FellegiSunterModel,
    RunInput,
    check_mapping,
    read_decisions,
    read_input,
    require_state,
    resolve_run,
)
from custseg.runtime import JobContext, JobResult, run_job
from custseg.tables.gold import RESOLUTION_METRICS

log = logging.getLogger(__name__)


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "resolve", _resolve, parent_run_id)


def _resolve(ctx: JobContext) -> None:
    ctx.clock.mark(MATCHING_STARTS)  # what the run did before the body is not matching
    settings = ctx.config.resolve
    source_name, frame = _input(ctx)
    labels = read_decisions(ctx.spark, settings.decisions_file) if settings.decisions_file else None
    region = settings.default_region or ctx.config.clean.default_region
    if settings.incremental:
        require_state(ctx)  # before the saved model is looked for: the missing state is the cause to name
    model = _model(ctx, required=settings.incremental)
    # The run log's metrics take the run's figures as they come, so a run that fails half way
    # still records how far it got.
    outcome = resolve_run(ctx, settings, RunInput(frame, source_name, region, model, labels, ctx.run_id,
                                                  now=partial(dt.datetime.now, dt.UTC)), figures=ctx.metrics)
    if settings.input.path:
        ctx.count_input(f"file:{settings.input.path}", outcome.records)
    ctx.write_rows(RESOLUTION_METRICS.name,
                   [(ctx.run_id, name, float(value)) for name, value in sorted(outcome.metrics.items())])
    _save_model(ctx, outcome.model)
    for warning in outcome.warnings:
        log.warning("resolve: %s", warning)
    if outcome.warnings:
        ctx.metrics["warnings"] = json.dumps(outcome.warnings)
    ctx.metrics.update({name: f"{value:.6g}" for name, value in outcome.metrics.items()})
    ctx.metrics["phases"] = ctx.clock.as_json()  # {phase: [seconds, spark jobs]}
    ctx.metrics["customers"] = str(ctx.rows_out["customer_master"])


def _input(ctx: JobContext) -> tuple[str, DataFrame]:
    """The input's name and rows: a table of this storage root, or a file (less what was erased)."""
    settings = ctx.config.resolve
    source_name = settings.input.table or settings.input.path or "input"
    frame = ctx.read(settings.input.table) if settings.input.table else read_input(ctx.spark, settings)
    check_mapping(frame, settings, source_name)
    erased_rows = erased_filter(ctx) if settings.input.path else None  # tables were filtered at ingest
    if erased_rows is not None:
        names = settings.column_names
        kinds: dict[str, str] = {names[r]: r for r in ("record_id", "email") if r in names}
        frame = erased_rows.drop_erased_columns(frame, kinds)
    return source_name, frame


def _model(ctx: JobContext, required: bool) -> FellegiSunterModel | None:
    """The model to score with: resolve.model if a path, else (incremental) the last run's."""
    path = ctx.config.resolve.model
    if path == "train":
        if not required:
            return None
        path = join_path(ctx.config.models_dir, "resolution", "latest.json")
    try:
        text = read_text(ctx.spark, path)
    except FileNotFoundError as exc:
        hint = "run `custseg resolve` in full first" if ctx.config.resolve.model == "train" \
            else "give the path of a model file a resolve run saved"
        raise InputDataError(f"resolve.model: no saved model at {path}; {hint}") from exc
    except Exception as exc:
        raise InputDataError(f"resolve.model: cannot read a saved model at {path}: "
                             f"{str(exc).splitlines()[0][:200]}") from exc
    return FellegiSunterModel.from_json(text)


def _save_model(ctx: JobContext, model: FellegiSunterModel) -> None:
    folder = join_path(ctx.config.models_dir, "resolution")
    ctx.metrics["model_path"] = ctx.publish_text(folder, f"{ctx.run_id}.json", model.to_json(), latest="latest.json")
