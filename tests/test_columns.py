"""Literal maps and sets built as one SQL expression hold exactly what ``F.lit`` would."""

from __future__ import annotations

import math

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.columns import is_one_of, literal_map, lookup, sql_literal

AWKWARD = ["plain", "Côte d'Ivoire", "back\\slash", "quote ' and \\' both", "", "  spaced  ",
           "naïve ünïcode", "%_*"]


def test_string_keys_and_values_come_back_as_written(spark: SparkSession) -> None:
    mapping = {key: f"value of {key}" for key in AWKWARD}
    frame = spark.createDataFrame([(key,) for key in [*AWKWARD, "absent", None]], "k string")
    got = {r.k: r.v for r in frame.select("k", lookup(mapping, F.col("k")).alias("v")).collect()}
    assert got == {**mapping, "absent": None, None: None}


def test_numbers_booleans_nulls_and_lists_keep_the_types_lit_gives(spark: SparkSession) -> None:
    values = {"int": 7, "long": 2**40, "negative": -3, "float": 0.1, "nan": math.nan, "inf": -math.inf,
              "true": True, "none": None, "list": ["a", "b'c"]}
    row = spark.range(1).select(*[F.try_element_at(literal_map({k: v}), F.lit(k)).alias(k)
                                  for k, v in values.items()]).first()
    assert row is not None
    assert (row.int, row.long, row.negative, row.float, row.true, row.none, row.list) == (
        7, 2**40, -3, 0.1, True, None, ["a", "b'c"])
    assert math.isnan(row.nan) and row.inf == -math.inf
    types = dict(spark.range(1).select(*[F.try_element_at(literal_map({k: v}), F.lit(k)).alias(k)
                                         for k, v in values.items() if v is not None]).dtypes)
    lit_types = dict(spark.range(1).select(*[F.lit(v).alias(k) for k, v in values.items() if v is not None]).dtypes)
    assert types == lit_types
    with pytest.raises(TypeError, match="no SQL literal"):
        sql_literal(object())


def test_membership_is_isin(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(key,) for key in [*AWKWARD, "absent", None]], "k string")
    both = frame.select("k", is_one_of(F.col("k"), AWKWARD).alias("ours"), F.col("k").isin(*AWKWARD).alias("isin"))
    rows = both.collect()
    assert all(r.ours == r.isin for r in rows) and sum(bool(r.ours) for r in rows) == len(AWKWARD)
    assert spark.range(1).select(lookup({}, F.lit("x")).alias("v")).first().v is None  # type: ignore[union-attr]
