"""Profile a table: per column nulls, distinct counts, ranges, quartiles, outliers, top values
and histograms; per table duplicate primary keys. Every figure is a Spark aggregate; only the
small results (one row per column, a few rows per histogram) reach the driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.config.model import QualitySettings

NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)
ORDERED = (*NUMERIC, T.DateType, T.TimestampType, T.StringType, T.BooleanType)
TOP_VALUES_MAX_DISTINCT = 5000
# Where a row came from, added by ingest: bookkeeping, not data, so not profiled.
LINEAGE_COLUMNS = frozenset({"source_file", "source_line", "ingest_run_id"})


@dataclass
class ColumnProfile:
    name: str
    data_type: str
    nulls: int = 0
    approx_distinct: int = 0
    min_value: str | None = None
    max_value: str | None = None
    mean: float | None = None
    stddev: float | None = None
    quartiles: tuple[float, float, float] | None = None
    iqr_outliers: int | None = None
    z_outliers: int | None = None
    top_values: list[tuple[str, int]] = field(default_factory=list)
    histogram: list[tuple[float, float, int]] = field(default_factory=list)
    rule_violations: int = 0


def profile_columns(frame: DataFrame, settings: QualitySettings) -> tuple[int, list[ColumnProfile]]:
    fields = [f for f in frame.schema.fields if isinstance(f.dataType, ORDERED) and f.name not in LINEAGE_COLUMNS]
    numeric = [f.name for f in fields if isinstance(f.dataType, NUMERIC)]
    first = frame.agg(F.count(F.lit(1)).alias("__rows"), *_first_pass(fields, numeric)).first()
    assert first is not None
    rows = int(first["__rows"])
    profiles = [_basic(first, f, f.name in numeric) for f in fields]
    by_name = {p.name: p for p in profiles}
    if rows and numeric:
        _outliers(frame, [by_name[n] for n in numeric], settings)
        _histograms(frame, [by_name[n] for n in numeric], settings.histogram_bins)
    categorical = [p for p in profiles if p.name not in numeric and 0 < p.approx_distinct <= TOP_VALUES_MAX_DISTINCT]
    if rows and categorical:
        _top_values(frame, categorical, settings.top_values)
    return rows, profiles


def _first_pass(fields: list[T.StructField], numeric: list[str]) -> list[Any]:
    expressions = []
    for f in fields:
        column = F.col(f.name)
        expressions += [
            F.count_if(column.isNull()).alias(f"{f.name}__nulls"),
            F.approx_count_distinct(column).alias(f"{f.name}__distinct"),
            F.min(column).cast("string").alias(f"{f.name}__min"),
            F.max(column).cast("string").alias(f"{f.name}__max"),
        ]
        if f.name in numeric:
            value = column.cast("double")
            expressions += [
                F.avg(value).alias(f"{f.name}__mean"), F.stddev_samp(value).alias(f"{f.name}__stddev"),
                F.percentile_approx(value, [0.25, 0.5, 0.75], 10000).alias(f"{f.name}__quartiles"),
            ]
    return expressions


def _basic(row: Any, f: T.StructField, is_numeric: bool) -> ColumnProfile:
    profile = ColumnProfile(
        f.name, f.dataType.simpleString(), nulls=int(row[f"{f.name}__nulls"]),
        approx_distinct=int(row[f"{f.name}__distinct"]),
        min_value=row[f"{f.name}__min"], max_value=row[f"{f.name}__max"],
    )
    if is_numeric:
        profile.mean, profile.stddev = row[f"{f.name}__mean"], row[f"{f.name}__stddev"]
        quartiles = row[f"{f.name}__quartiles"]
        profile.quartiles = tuple(quartiles) if quartiles else None  # type: ignore[assignment]
    return profile


def _outliers(frame: DataFrame, profiles: list[ColumnProfile], settings: QualitySettings) -> None:
    expressions = []
    for p in profiles:
        value = F.col(p.name).cast("double")
        if p.quartiles:
            q1, _, q3 = p.quartiles
            spread = settings.iqr_factor * (q3 - q1)
            expressions.append(F.count_if((value < q1 - spread) | (value > q3 + spread)).alias(f"{p.name}__iqr"))
        if p.stddev and p.mean is not None:
            far = F.abs(value - F.lit(p.mean)) / p.stddev > settings.z_threshold
            expressions.append(F.count_if(far).alias(f"{p.name}__z"))
    if not expressions:
        return
    row = frame.agg(*expressions).first()
    assert row is not None
    for p in profiles:
        p.iqr_outliers = int(row[f"{p.name}__iqr"]) if p.quartiles else None
        p.z_outliers = int(row[f"{p.name}__z"]) if p.stddev else (0 if p.quartiles else None)


def _histograms(frame: DataFrame, profiles: list[ColumnProfile], bins: int) -> None:
    ranged = [p for p in profiles if p.min_value is not None and p.max_value is not None]
    if not ranged:
        return
    bounds = {p.name: (float(p.min_value), float(p.max_value)) for p in ranged}  # type: ignore[arg-type]
    pairs = F.explode(F.array(*[F.struct(F.lit(p.name).alias("column"), F.col(p.name).cast("double").alias("value"))
                                for p in ranged]))
    values = frame.select(pairs.alias("pair")).select("pair.column", "pair.value").filter(F.col("value").isNotNull())
    bucket = F.lit(0)
    for name, (low, high) in bounds.items():
        width = (high - low) / bins if high > low else 1.0
        index = F.least(F.floor((F.col("value") - low) / width), F.lit(bins - 1)).cast("int")
        bucket = F.when(F.col("column") == name, index).otherwise(bucket)
    counts = values.groupBy("column", bucket.alias("bucket")).count().collect()  # at most columns x bins rows
    for p in ranged:
        low, high = bounds[p.name]
        width = (high - low) / bins if high > low else 1.0
        found = {r.bucket: r["count"] for r in counts if r.column == p.name}
        p.histogram = [(low + i * width, low + (i + 1) * width, int(found.get(i, 0)))
                       for i in range(bins if high > low else 1)]


def _top_values(frame: DataFrame, profiles: list[ColumnProfile], limit: int) -> None:
    pairs = F.explode(F.array(*[F.struct(F.lit(p.name).alias("column"), F.col(p.name).cast("string").alias("value"))
                                for p in profiles]))
    counted = frame.select(pairs.alias("pair")).select("pair.column", "pair.value").filter(F.col("value").isNotNull())
    ranked = counted.groupBy("column", "value").count().withColumn(
        "rank", F.row_number().over(Window.partitionBy("column").orderBy(F.col("count").desc(), F.col("value")))
    ).filter(F.col("rank") <= limit).collect()  # at most columns x limit rows
    for p in profiles:
        p.top_values = [(r.value, int(r["count"])) for r in sorted(ranked, key=lambda r: r["rank"])
                        if r.column == p.name]
