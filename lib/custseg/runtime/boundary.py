"""Checks run on every table a job writes, before anything is published.

The checks themselves are ``custseg.quality``'s; this module feeds them what the job context holds
(the configured rules, the staged frame and the previous version of the table)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from custseg.catalog import TableSpec
from custseg.delta import StagedWrite
from custseg.quality.checks import CheckResult, check_rules
from custseg.quality.drift import check_drift

if TYPE_CHECKING:
    from custseg.runtime.context import JobContext

log = logging.getLogger(__name__)


def validate_write(ctx: JobContext, spec: TableSpec, staged: StagedWrite, frame: DataFrame) -> list[CheckResult]:
    """Rules for ``spec``'s table and, for a replaced table, drift against its previous version.
    References rules wait for ``validate_references``: their target may be written later in the job."""
    rules = [r for r in ctx.config.rules.get(spec.name, []) if r.check != "references"]
    results = check_rules(spec.name, frame, staged.num_records, rules, ctx.table_for_check)
    path = ctx.catalog.path(spec.name)
    if spec.mode == "overwrite" and staged.mode == "overwrite" and ctx.store.exists(path):
        version = ctx.store.version(path)
        results += check_drift(
            spec.name, staged.num_records, staged.null_counts, frame, ctx.store.row_count(path, version),
            ctx.store.null_counts(path, version), ctx.store.read(path, version), ctx.config.quality.drift,
        )
    _log(ctx, results)
    return results


def validate_references(ctx: JobContext, name: str, rows: int, frame: DataFrame) -> list[CheckResult]:
    """References rules of a staged table, once every table of the job is staged."""
    rules = [r for r in ctx.config.rules.get(name, []) if r.check == "references"]
    results = check_rules(name, frame, rows, rules, ctx.table_for_check) if rules else []
    _log(ctx, results)
    return results


def _log(ctx: JobContext, results: list[CheckResult]) -> None:
    for result in results:
        if not result.passed:
            log.warning("%s: %s check: %s", ctx.job, result.severity, result.message)
