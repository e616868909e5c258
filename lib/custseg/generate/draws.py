"""Deterministic random draws as Spark columns.

Each draw hashes (seed, purpose, row keys) with xxhash64, so a value depends only on what it
describes, never on partitioning, executor count or row order: the same seed gives the same
data on a laptop and on a cluster.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

_TWO_POW_53 = float(2**53)


def uniform(seed: int, purpose: str, *keys: Column | str) -> Column:
    """A double in [0, 1) fixed by seed, purpose and keys."""
    hashed = F.xxhash64(F.lit(seed), F.lit(purpose), *keys)
    return F.shiftrightunsigned(hashed, 11).cast("double") / F.lit(_TWO_POW_53)


def integer_between(u: Column, low: int | Column, high: int | Column) -> Column:
    """Integer in [low, high] from a uniform draw."""
    low_col = low if isinstance(low, Column) else F.lit(low)
    high_col = high if isinstance(high, Column) else F.lit(high)
    return (low_col + F.floor(u * (high_col - low_col + 1))).cast("int")


def choice(u: Column, options: Sequence[str] | Column) -> Column:
    """Pick an element of a literal list (or an array column) with a uniform draw."""
    array = options if isinstance(options, Column) else F.array(*[F.lit(o) for o in options])
    return F.element_at(array, (F.floor(u * F.size(array)) + 1).cast("int"))


def skewed_choice(u: Column, options: Sequence[str], power: float = 2.0) -> Column:
    """Pick from a literal list, earlier entries more often (index ~ u^power): a few common
    values and a long tail of rare ones, as with real names."""
    array = F.array(*[F.lit(o) for o in options])
    return F.element_at(array, (F.floor(F.pow(u, F.lit(power)) * len(options)) + 1).cast("int"))


def weighted_choice(u: Column, weights: Mapping[str, float]) -> Column:
    """Pick a key with probability proportional to its weight."""
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("weights must sum to a positive number")
    result: Column | None = None
    cumulative = 0.0
    items = list(weights.items())
    for key, weight in items[:-1]:
        cumulative += weight / total
        result = (F.when(u < cumulative, F.lit(key)) if result is None else result.when(u < cumulative, F.lit(key)))
    last = F.lit(items[-1][0])
    return last if result is None else result.otherwise(last)


def normal(u1: Column, u2: Column) -> Column:
    """Standard normal draw (Box-Muller) from two independent uniforms."""
    return F.sqrt(-2.0 * F.log(F.greatest(u1, F.lit(1e-12)))) * F.cos(2 * math.pi * u2)


def digits(seed: int, purpose: str, count: int, *keys: Column | str) -> Column:
    """A string of ``count`` random decimal digits."""
    parts = [F.floor(uniform(seed, f"{purpose}:{i}", *keys) * 10).cast("int").cast("string") for i in range(count)]
    return F.concat(*parts)
