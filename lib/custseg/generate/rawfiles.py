"""Write generated sources as the files a data team receives: CSV, JSON lines and Parquet.

CSV is written without quoting (as many exports are), so a value holding a delimiter or a
stray quote breaks its line. A small share of lines is broken on purpose (``bad_row_rate``):
an extra field, an unterminated quote, text in a typed column, a missing id, a truncated JSON
object. Ingest must send each of them to quarantine with a reason.
Files land in a staging folder first and replace the previous export only when all sources
are written, so a failed run never leaves a half-new set of raw files.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config.resolved import join_path
from custseg.files import list_files, move, remove_checksums
from custseg.generate.draws import uniform


@dataclass(frozen=True)
class Corruption:
    kind: str
    column: str
    replacement: str | None = None  # text for "bad_type"


def corrupt_columns(df: DataFrame, key: str, seed: int, rate: float, corruptions: list[Corruption]) -> DataFrame:
    """Break a ``rate`` share of rows, one corruption each; all columns must be strings."""
    picked = uniform(seed, "bad_row", key) < rate
    which = (F.floor(uniform(seed, "bad_kind", key) * len(corruptions))).cast("int")
    replaced: dict[str, Column] = {}
    for index, corruption in enumerate(corruptions):
        hit = picked & (which == index)
        current = replaced.get(corruption.column, F.col(corruption.column).cast("string"))
        if corruption.kind == "extra_field":
            broken = F.concat(F.coalesce(current, F.lit("")), F.lit(",unexpected"))
        elif corruption.kind == "unterminated_quote":
            broken = F.concat(F.lit('"'), F.coalesce(current, F.lit("")))
        elif corruption.kind == "bad_type":
            broken = F.lit(corruption.replacement)
        elif corruption.kind == "missing_required":
            broken = F.lit(None).cast("string")
        else:
            raise ValueError(f"unknown corruption kind {corruption.kind!r}")
        replaced[corruption.column] = F.when(hit, broken).otherwise(current)
    return df.withColumns(replaced)


ROW_ORDER = "_row_order"


def write_csv(df: DataFrame, path: str, files: int) -> None:
    """``df`` carries ROW_ORDER, a unique key that fixes which file and line a row lands on
    (so line numbers are reproducible); it is not written."""
    values = [F.col(c).cast("string").alias(c) for c in df.columns if c != ROW_ORDER]
    (
        df.select(ROW_ORDER, *values).repartition(files, ROW_ORDER).sortWithinPartitions(ROW_ORDER)
        .drop(ROW_ORDER).write.mode("overwrite")
        .option("header", "true").option("quote", "").option("escapeQuotes", "false")
        .option("emptyValue", "").option("nullValue", "").csv(path)
    )


def write_json_lines(df: DataFrame, path: str, files: int, key: str, seed: int, rate: float,
                     typed_column: str, required_column: str) -> None:
    """JSON lines; broken lines are truncated, carry text in a numeric field, or lack the id."""
    picked = uniform(seed, "bad_row", key) < rate
    which = F.floor(uniform(seed, "bad_kind", key) * 3).cast("int")
    document = F.to_json(F.struct(*[
        F.when(picked & (which == 2) & F.lit(c == required_column), F.lit(None)).otherwise(F.col(c)).alias(c)
        for c in df.columns
    ]))
    line = (
        F.when(picked & (which == 0), F.substring(document, 1, 30))
        .when(picked & (which == 1), F.regexp_replace(
            document, f'"{typed_column}":("[^"]*"|-?[0-9]+)', f'"{typed_column}":"last week"'))
        .otherwise(document)
    )
    (
        df.select(F.col(key), line.alias("value")).repartition(files, key).sortWithinPartitions(key)
        .select("value").write.mode("overwrite").text(path)
    )
    rename_extension(df.sparkSession, path, ".txt", ".json")


def write_parquet(df: DataFrame, path: str, files: int) -> None:
    df.coalesce(files).write.mode("overwrite").parquet(path)


def rename_extension(spark: SparkSession, directory: str, old: str, new: str) -> None:
    """Rename the part files in ``directory`` that end with ``old`` to end with ``new``."""
    for source in list_files(spark, join_path(directory, f"*{old}")):
        move(spark, source, source[: -len(old)] + new)


def publish(spark: SparkSession, staging: str, target: str) -> None:
    """Replace ``target`` by ``staging`` (delete, then rename: the gap is one metadata call)."""
    remove_checksums(spark, staging)
    move(spark, staging, target)
