"""Turn raw records into the declared columns, with a reason for every record that does not fit.

All parsing uses Spark built-ins: ``from_csv``/``from_json`` into string fields (malformed
records land in a corrupt-record column), then ``try_cast``/``try_to_timestamp`` into the
declared types, so a bad value yields null plus a reason rather than a failed job.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.config import ColumnSpec, SourceSpec
from custseg.iso8601 import to_extended

CORRUPT = "_corrupt_record"
REASON = "reason"
HEADER_PROBLEM = "header_problem"


def parse_text_records(lines: DataFrame, source: SourceSpec) -> DataFrame:
    """Lines -> declared columns (raw strings, prefixed ``raw_``) plus ``reason`` (null if fine)."""
    string_schema = T.StructType(
        [T.StructField(c.name, T.StringType()) for c in source.columns] + [T.StructField(CORRUPT, T.StringType())]
    )
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    if source.format == "csv":
        options["sep"] = source.options.get("delimiter", source.options.get("sep", ","))
        parsed = F.from_csv(F.col("value"), string_schema.simpleString(), options)
        malformed = F.lit(f"malformed CSV record: expected {len(source.columns)} fields (or an unterminated quote)")
    else:
        parsed = F.from_json(F.col("value"), string_schema, options)
        malformed = F.lit("malformed JSON (not one complete object per line)")
    blank = F.trim(F.col("value")) == ""
    header = F.col(HEADER_PROBLEM) if HEADER_PROBLEM in lines.columns else F.lit(None).cast("string")
    structural = (
        F.when(header.isNotNull(), header)
        .when(blank, F.lit("blank line"))
        .when(F.instr(F.col("value"), "\ufffd") > 0, F.lit("not valid UTF-8 text (wrong encoding?)"))
        .when(F.col("parsed").isNull() | F.col(f"parsed.{CORRUPT}").isNotNull(), malformed)
    )
    with_fields = lines.withColumn("parsed", parsed).withColumn("structural_reason", structural)
    return with_fields.select(
        "source_file", "source_line", "value",
        *[F.col(f"parsed.{c.name}").alias(f"raw_{c.name}") for c in source.columns],
        "structural_reason",
    )


def typed_columns(frame: DataFrame, columns: list[ColumnSpec]) -> DataFrame:
    """Add each declared column in its declared type, and ``reason`` joining every problem."""
    converted = {c.name: convert(F.col(f"raw_{c.name}"), c) for c in columns}
    problems = [_value_problem(F.col(f"raw_{c.name}"), converted[c.name], c) for c in columns]
    reasons = F.array_compact(F.array(F.col("structural_reason"), *problems))
    reason = F.when(F.col("structural_reason").isNotNull(), F.col("structural_reason")).otherwise(
        F.when(F.size(reasons) > 0, F.array_join(reasons, "; "))
    )
    return frame.withColumns({**converted, REASON: reason})


def convert(raw: Column, column: ColumnSpec) -> Column:
    """The raw string in the declared type; null when empty or not convertible."""
    text = F.when(F.trim(raw) != "", F.trim(raw))
    declared = column.type.strip().lower()
    if declared == "string":
        return F.when(raw != "", raw)  # keep spacing as delivered; `clean` standardizes
    # Without a pattern, ISO 8601 in the extended or the basic format (19560409, 20260301T101500Z).
    if declared == "timestamp":
        if column.format:
            return F.try_to_timestamp(text, F.lit(column.format))
        return to_extended(text).try_cast("timestamp")
    if declared == "date":
        if column.format:
            return F.to_date(F.try_to_timestamp(text, F.lit(column.format)))
        return to_extended(text).try_cast("date")
    return text.try_cast(declared)


def _value_problem(raw: Column, value: Column, column: ColumnSpec) -> Column:
    present = raw.isNotNull() & (F.trim(raw) != "")
    expected = column.type + (f" in format {column.format}" if column.format else "")
    bad_value = F.concat(F.lit(f"{column.name}: '"), F.substring(raw, 1, 60), F.lit(f"' is not a valid {expected}"))
    problem = F.when(present & value.isNull(), bad_value)
    if column.required:
        problem = F.when(~present, F.lit(f"{column.name}: required value is missing")).otherwise(problem)
    return problem
