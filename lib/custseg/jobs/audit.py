"""Job `audit`: profile the tables in `quality.audit_tables` into `data_audit` and an HTML report
(`<storage.root>/reports/audit/<run id>.html`, and `latest.html`)."""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from custseg.audit import ColumnProfile, TableAudit, profile_columns, render
from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.quality.checks import check_rules, duplicated_rows
from custseg.runtime import JobContext, JobResult, run_job
from custseg.tables.ops import DATA_AUDIT

log = logging.getLogger(__name__)


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "audit", _audit, parent_run_id)


def _audit(ctx: JobContext) -> None:
    audits = []
    for name in ctx.config.quality.audit_tables:
        if not ctx.table_exists(name):
            log.warning("audit: table %s does not exist yet; skipped", name)
            ctx.metrics[f"skipped.{name}"] = "not written yet"
            continue
        audits.append(_audit_table(ctx, name))
    rows = [row for audit in audits for row in _rows(ctx.run_id, audit)]
    ctx.write_rows(DATA_AUDIT.name, rows)
    folder = join_path(ctx.config.reports_dir, "audit")
    final = ctx.publish_text(folder, f"{ctx.run_id}.html", render(ctx.run_id, audits), latest="latest.html")
    ctx.metrics.update({"tables": str(len(audits)), "report": final})


def _audit_table(ctx: JobContext, name: str) -> TableAudit:
    spec = ctx.catalog.spec(name)
    frame = ctx.read(name)
    rows, columns = profile_columns(frame, ctx.config.quality)
    rules = ctx.config.rules.get(name, [])
    checks = check_rules(name, frame, rows, rules, ctx.table_for_check)
    by_column = {c.name: c for c in columns}
    for check in checks:
        if check.column in by_column and check.check_type != "unique":
            by_column[check.column].rule_violations += check.violations  # type: ignore[index]
    duplicates: int | None = None
    if spec.primary_key:
        # A unique rule on the primary key has counted its duplicated rows already.
        counted = {check.check_name: check.violations for check in checks}
        on_key = [rule.name for rule in rules
                  if rule.check == "unique" and sorted(rule.key_columns) == sorted(spec.primary_key)]
        duplicates = counted[on_key[0]] if on_key else duplicated_rows(frame, list(spec.primary_key)) if rows else 0
    return TableAudit(name, spec.layer, ctx.input_versions[name], rows, duplicates, spec.primary_key,
                      sum(c.violations for c in checks), columns)


def _rows(run_id: str, audit: TableAudit) -> list[tuple[object, ...]]:
    table_row: tuple[object, ...] = (run_id, audit.name, audit.version, "*", "table", audit.rows,
                                     None, None, None, None, None, None, None, None, None, None, None, None,
                                     [], [], audit.duplicate_key_rows, audit.rule_violations)
    return [table_row] + [_column_row(run_id, audit, c) for c in audit.columns]


def _column_row(run_id: str, audit: TableAudit, c: ColumnProfile) -> tuple[object, ...]:
    q1, median, q3 = c.quartiles if c.quartiles else (None, None, None)
    return (run_id, audit.name, audit.version, c.name, c.data_type, audit.rows, c.nulls,
            c.nulls / audit.rows if audit.rows else None, c.approx_distinct, c.min_value, c.max_value,
            c.mean, c.stddev, q1, median, q3, c.iqr_outliers, c.z_outliers,
            [(v, n) for v, n in c.top_values], [(lo, hi, n) for lo, hi, n in c.histogram], None, c.rule_violations)
