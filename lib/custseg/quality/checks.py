"""Validation rules evaluated on a table as a job writes it.

All not_null / range / regex / allowed rules of a table are counted in one aggregation;
each unique rule is one grouped count, each references rule one anti-join. A rule passes when
the share of rows breaking it is at most its ``max_share``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.config.model import RuleSpec


@dataclass(frozen=True)
class CheckResult:
    table: str
    check_name: str
    check_type: str
    column: str | None
    severity: str
    rows: int
    violations: int
    share: float
    max_share: float
    message: str

    @property
    def passed(self) -> bool:
        return self.share <= self.max_share

    @property
    def failed_error(self) -> bool:
        return not self.passed and self.severity == "error"


def check_rules(table: str, frame: DataFrame, rows: int, rules: list[RuleSpec],
                referenced: Callable[[str], DataFrame]) -> list[CheckResult]:
    """All ``rules`` on ``frame``; ``referenced`` gives the table a references rule points at."""
    types = {f.name: f.dataType for f in frame.schema.fields}
    simple = [r for r in rules if r.check in ("not_null", "range", "regex", "allowed")]
    counts: dict[str, int] = {}
    if simple and rows:
        row = frame.agg(*[F.count_if(violation(r, types[r.column])).alias(f"r{i}")  # type: ignore[index]
                          for i, r in enumerate(simple)]).first()
        assert row is not None
        counts = {r.name: int(row[f"r{i}"]) for i, r in enumerate(simple)}
    results = []
    for rule in rules:
        if rule.check == "unique":
            violations = duplicated_rows(frame, rule.key_columns) if rows else 0
        elif rule.check == "references":
            violations = missing_references(frame, rule, referenced(rule.table)) if rows else 0  # type: ignore[arg-type]
        else:
            violations = counts.get(rule.name, 0)
        results.append(_result(table, rule, rows, violations))
    return results


def violation(rule: RuleSpec, data_type: T.DataType) -> Column:
    """True for a row breaking ``rule`` (nulls only break not_null)."""
    value = F.col(rule.column)  # type: ignore[arg-type]
    if rule.check == "not_null":
        return value.isNull()
    if rule.check == "regex":
        return value.isNotNull() & ~value.cast("string").rlike(rule.pattern)  # type: ignore[arg-type]
    if rule.check == "allowed":
        return value.isNotNull() & ~value.cast("string").isin(*rule.values)
    low = F.lit(rule.min).cast(data_type) if rule.min is not None else None
    high = F.lit(rule.max).cast(data_type) if rule.max is not None else None
    below = value < low if low is not None else F.lit(False)
    above = value > high if high is not None else F.lit(False)
    return F.coalesce(below | above, F.lit(False))


def duplicated_rows(frame: DataFrame, keys: list[str]) -> int:
    """Rows whose key appears more than once (rows with a null key part are not compared)."""
    keyed = frame.dropna(subset=keys).groupBy(*keys).count().filter(F.col("count") > 1)
    return int(keyed.agg(F.coalesce(F.sum("count"), F.lit(0))).first()[0])  # type: ignore[index]


def missing_references(frame: DataFrame, rule: RuleSpec, target: DataFrame) -> int:
    keys = rule.key_columns
    wanted = target.select(*[F.col(t).alias(k) for t, k in zip(rule.to, keys, strict=True)]).distinct()
    return frame.dropna(subset=keys).select(*keys).join(wanted, on=keys, how="left_anti").count()


def _result(table: str, rule: RuleSpec, rows: int, violations: int) -> CheckResult:
    share = violations / rows if rows else 0.0
    outcome = "ok" if share <= rule.max_share else "FAILED"
    detail = f" ({rule.description})" if rule.description else ""
    message = (f"{table}: {outcome}: {violations:,} of {rows:,} rows ({100 * share:.3f}%) break {rule.name}{detail}; "
               f"allowed {100 * rule.max_share:.3f}%")
    return CheckResult(table, rule.name, rule.check, ",".join(rule.key_columns) or None, rule.severity, rows,
                       violations, share, rule.max_share, message)
