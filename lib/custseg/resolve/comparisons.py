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
from custseg.config.model import VALUE_LEVEL_ROLES
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
SIMILARITIES = T.StructType([T.StructField(n, T.DoubleType())
                             for n in ("first", "last", "first_cross", "last_cross", "street")])


@pandas_udf(SIMILARITIES)  # type: ignore[call-overload]
def _jaro_winkler(first_l: pd.Series, first_r: pd.Series, last_l: pd.Series, last_r: pd.Series,
                  street_l: pd.Series, street_r: pd.Series) -> pd.DataFrame:
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cpdist

    def similarity(left: pd.Series, right: pd.Series) -> pd.Series:
        present = left.notna() & right.notna()
        result = pd.Series(float("nan"), index=left.index)
        if present.any():
            result[present] = cpdist(left[present].tolist(), right[present].tolist(),
                                     scorer=JaroWinkler.normalized_similarity)
        return result

    return pd.DataFrame({
        "first": similarity(first_l, first_r), "last": similarity(last_l, last_r),
        "first_cross": similarity(first_l, last_r), "last_cross": similarity(last_l, first_r),
        "street": similarity(street_l, street_r),
    })


def compare(pairs: DataFrame, identities: DataFrame, roles: Sequence[str]) -> DataFrame:
    """``pairs`` (node_l, node_r, ...) with both records' values (``<role>_l``/``_r``) and a level
    column ``lvl_<comparison>`` for every comparison the mapped roles allow."""
    left = identities.select(F.col("node").alias("node_l"),
                             *[F.col(c).alias(f"{c}_l") for c in identities.columns if c != "node"])
    right = identities.select(F.col("node").alias("node_r"),
                              *[F.col(c).alias(f"{c}_r") for c in identities.columns if c != "node"])
    joined = pairs.join(left, "node_l", "inner").join(right, "node_r", "inner")
    groups = _name_groups(pairs.sparkSession)
    for side in ("l", "r"):  # every full name each first name can stand for (Bill -> William)
        joined = joined.join(
            F.broadcast(groups.withColumnsRenamed({"name": f"first_name_{side}", "groups": f"first_groups_{side}"})),
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


def value_level(role: str, left: Column, right: Column) -> Column:
    """The level of two values of ``role`` (one of VALUE_LEVEL_ROLES), an index of LEVELS[role];
    blocking rules use it too, to skip pairs whose values differ beyond a typo."""
    null = left.isNull() | right.isNull()
    if role == "birth_date":
        swapped = (F.year(left) == F.year(right)) & (F.month(left) == F.dayofmonth(right)) \
            & (F.dayofmonth(left) == F.month(right))
        digits_l, digits_r = F.date_format(left, "yyyyMMdd"), F.date_format(right, "yyyyMMdd")
        level = F.when(null, 0).when(left == right, 1).when(swapped, 2) \
            .when(F.levenshtein(digits_l, digits_r) <= 1, 3).when(F.abs(F.datediff(left, right)) <= 366, 4).otherwise(5)
    elif role == "email":
        level = F.when(null, 0).when(left == right, 1).when(mailbox_name(left) == mailbox_name(right), 2).otherwise(3)
    elif role == "phone":
        level = F.when(null, 0).when(left == right, 1) \
            .when(F.right(left, F.lit(7)) == F.right(right, F.lit(7)), 2).otherwise(3)
    elif role == "national_id":
        level = F.when(null, 0).when(left == right, 1).when(F.levenshtein(left, right) <= 1, 2).otherwise(3)
    elif role == "postcode":
        level = F.when(null, 0).when(left == right, 1) \
            .when(F.substring(left, 1, 3) == F.substring(right, 1, 3), 2).otherwise(3)
    elif role == "city":
        level = F.when(null, 0).when(left == right, 1).otherwise(2)
    else:
        raise ValueError(f"no level of {role!r} from its values alone; roles: {', '.join(VALUE_LEVEL_ROLES)}")
    return level.cast("int")


def differs(role: str, left: Column, right: Column) -> Column:
    """Whether two values of ``role`` are both present and at its last level, 'different'."""
    return value_level(role, left, right) == len(LEVELS[role]) - 1


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
    groups_r = F.when(swapped, F.array(right("last_name"))).otherwise(
        F.coalesce(F.col("first_groups_r"), F.array(right("first_name"))))

    levels = {
        "first_name": F.when(null("first_name") | first_other.isNull(), 0).when(left("first_name") == first_other, 1)
        .when(F.arrays_overlap(groups_l, groups_r), 2)
        .when(first_sim >= 0.92, 3).when(first_sim >= 0.80, 4).otherwise(5),
        "last_name": F.when(null("last_name") | last_other.isNull(), 0).when(left("last_name") == last_other, 1)
        .when(last_sim >= 0.92, 2).when(last_sim >= 0.80, 3).otherwise(4),
        **{role: value_level(role, left(role), right(role)) for role in VALUE_LEVEL_ROLES},
        "street": F.when(null("street"), 0).when(left("street") == right("street"), 1)
        .when((sim.street >= 0.90) & (_house_number(left("street")) == _house_number(right("street"))), 2)
        .when(sim.street >= 0.90, 3).otherwise(4),
    }
    return {name: levels[name].cast("int") for name in comparisons_for(roles)}
