"""Comparison levels per candidate pair, one small integer per field.

Level 0 is always 'null' (a value missing on either side: no evidence either way); the others
run from the strongest agreement down to 'different'. Names are compared in whichever order
agrees best, so swapped first and last names still agree. Spark built-ins do the work except
Jaro-Winkler, which Spark lacks: one vectorized pandas UDF computes every similarity a pair
needs in C++ (rapidfuzz), an Arrow batch at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from custseg.clean.contact import mailbox_name
from custseg.reference.nicknames import name_groups

LEVELS: dict[str, list[str]] = {
    "first_name": ["null", "exact", "nickname", "jaro_winkler_0.92", "jaro_winkler_0.80", "different"],
    "last_name": ["null", "exact", "jaro_winkler_0.92", "jaro_winkler_0.80", "different"],
    "birth_date": ["null", "exact", "day_month_swapped", "one_digit_off", "within_a_year", "different"],
    "email": ["null", "exact", "same_mailbox_name", "different"],
    "phone": ["null", "exact", "same_last_7_digits", "different"],
    "national_id": ["null", "exact", "one_edit", "different"],
    "street": ["null", "exact", "same_number_jaro_winkler_0.90", "jaro_winkler_0.90", "different"],
    "postcode": ["null", "exact", "same_district", "different"],
    "city": ["null", "exact", "different"],
}
SIMILARITIES = T.StructType([T.StructField(n, T.DoubleType()) for n in ("first", "last", "first_cross", "last_cross", "street")])


@pandas_udf(SIMILARITIES)  # type: ignore[call-overload]
def _jaro_winkler(first_l: pd.Series, first_r: pd.Series, last_l: pd.Series, last_r: pd.Series,
                  street_l: pd.Series, street_r: pd.Series) -> pd.DataFrame:
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cpdist

    def similarity(left: pd.Series, right: pd.Series) -> pd.Series:
        present = left.notna() & right.notna()
        result = pd.Series(float("nan"), index=left.index)
        if present.any():
            result[present] = cpdist(left[present].tolist(), right[present].tolist(), scorer=JaroWinkler.normalized_similarity)
        return result

    return pd.DataFrame({
        "first": similarity(first_l, first_r), "last": similarity(last_l, last_r),
        "first_cross": similarity(first_l, last_r), "last_cross": similarity(last_l, first_r),
        "street": similarity(street_l, street_r),
    })


def compare(pairs: DataFrame, identities: DataFrame, roles: Sequence[str]) -> DataFrame:
    """``pairs`` (node_l, node_r, ...) with both records' values (``<role>_l``/``_r``) and a level
    column ``lvl_<comparison>`` for every comparison the mapped roles allow."""
    left = identities.select(F.col("node").alias("node_l"), *[F.col(c).alias(f"{c}_l") for c in identities.columns if c != "node"])
    right = identities.select(F.col("node").alias("node_r"), *[F.col(c).alias(f"{c}_r") for c in identities.columns if c != "node"])
    joined = pairs.join(left, "node_l", "inner").join(right, "node_r", "inner")
    groups = _name_groups(pairs.sparkSession)
    for side in ("l", "r"):  # every full name each first name can stand for (Bill -> William)
        joined = joined.join(F.broadcast(groups.withColumnsRenamed({"name": f"first_name_{side}", "groups": f"first_groups_{side}"})),
                             f"first_name_{side}", "left")
    with_similarity = joined.withColumn("sim", _jaro_winkler(
        F.col("first_name_l"), F.col("first_name_r"), F.col("last_name_l"), F.col("last_name_r"),
        F.col("street_l"), F.col("street_r")))
    levels = {f"lvl_{name}": level for name, level in _levels(roles).items()}
    return with_similarity.withColumns(levels).drop("sim", "first_groups_l", "first_groups_r")


def _name_groups(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(sorted(name_groups().items()), "name string, groups array<string>")


def _house_number(street: Column) -> Column:
    return F.regexp_extract(street, r"\b(\d+[a-z]?)\b", 1)


def comparisons_for(roles: Sequence[str]) -> list[str]:
    return [name for name in LEVELS if name in roles]


def _levels(roles: Sequence[str]) -> dict[str, Column]:
    def left(role: str) -> Column:
        return F.col(f"{role}_l")

    def right(role: str) -> Column:
        return F.col(f"{role}_r")

    def null(role: str) -> Column:
        return left(role).isNull() | right(role).isNull()

    sim = F.col("sim")
    straight = F.coalesce(sim.first, F.lit(0.0)) + F.coalesce(sim["last"], F.lit(0.0))
    crossed = F.coalesce(sim.first_cross, F.lit(0.0)) + F.coalesce(sim.last_cross, F.lit(0.0))
    swapped = crossed > straight + 0.1  # names typed in the wrong fields
    first_sim = F.when(swapped, sim.first_cross).otherwise(sim.first)
    last_sim = F.when(swapped, sim.last_cross).otherwise(sim["last"])
    first_other = F.when(swapped, right("last_name")).otherwise(right("first_name"))
    last_other = F.when(swapped, right("first_name")).otherwise(right("last_name"))
    groups_l = F.coalesce(F.col("first_groups_l"), F.array(left("first_name")))
    groups_r = F.when(swapped, F.array(right("last_name"))).otherwise(F.coalesce(F.col("first_groups_r"), F.array(right("first_name"))))

    dob_l, dob_r = F.date_format(left("birth_date"), "yyyyMMdd"), F.date_format(right("birth_date"), "yyyyMMdd")
    levels = {
        "first_name": F.when(null("first_name") | first_other.isNull(), 0).when(left("first_name") == first_other, 1)
        .when(F.arrays_overlap(groups_l, groups_r), 2)
        .when(first_sim >= 0.92, 3).when(first_sim >= 0.80, 4).otherwise(5),
        "last_name": F.when(null("last_name") | last_other.isNull(), 0).when(left("last_name") == last_other, 1)
        .when(last_sim >= 0.92, 2).when(last_sim >= 0.80, 3).otherwise(4),
        "birth_date": F.when(null("birth_date"), 0).when(left("birth_date") == right("birth_date"), 1)
        .when((F.year(left("birth_date")) == F.year(right("birth_date"))) & (F.month(left("birth_date")) == F.dayofmonth(right("birth_date")))
              & (F.dayofmonth(left("birth_date")) == F.month(right("birth_date"))), 2)
        .when(F.levenshtein(dob_l, dob_r) <= 1, 3)
        .when(F.abs(F.datediff(left("birth_date"), right("birth_date"))) <= 366, 4).otherwise(5),
        "email": F.when(null("email"), 0).when(left("email") == right("email"), 1)
        .when(mailbox_name(left("email")) == mailbox_name(right("email")), 2).otherwise(3),
        "phone": F.when(null("phone"), 0).when(left("phone") == right("phone"), 1)
        .when(F.right(left("phone"), F.lit(7)) == F.right(right("phone"), F.lit(7)), 2).otherwise(3),
        "national_id": F.when(null("national_id"), 0).when(left("national_id") == right("national_id"), 1)
        .when(F.levenshtein(left("national_id"), right("national_id")) <= 1, 2).otherwise(3),
        "street": F.when(null("street"), 0).when(left("street") == right("street"), 1)
        .when((sim.street >= 0.90) & (_house_number(left("street")) == _house_number(right("street"))), 2)
        .when(sim.street >= 0.90, 3).otherwise(4),
        "postcode": F.when(null("postcode"), 0).when(left("postcode") == right("postcode"), 1)
        .when(F.substring(left("postcode"), 1, 3) == F.substring(right("postcode"), 1, 3), 2).otherwise(3),
        "city": F.when(null("city"), 0).when(left("city") == right("city"), 1).otherwise(2),
    }
    return {name: level.cast("int") for name, level in levels.items() if name in comparisons_for(roles)}
