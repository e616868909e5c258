"""Categorical values mapped through config, and amounts converted to the reporting currency."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg.columns import lookup
from custseg.textnorm import blank_to_null

UNKNOWN = "unknown"


def mapped_category(raw: Column, mapping: Mapping[str, str]) -> Column:
    """The configured value for ``raw`` (case and spacing ignored); 'unknown' when missing or unmapped."""
    key = F.lower(blank_to_null(raw))
    if not mapping:
        return F.lit(UNKNOWN)
    return F.coalesce(lookup({k.strip().lower(): v for k, v in mapping.items()}, key), F.lit(UNKNOWN))


def is_unmapped(raw: Column, mapping: Mapping[str, str]) -> Column:
    """True when a value was given but has no mapping (counted in the cleaning log)."""
    return blank_to_null(raw).isNotNull() & (mapped_category(raw, mapping) == UNKNOWN)


def to_reporting_currency(amount: Column, currency: Column, rates: Mapping[str, float]) -> Column:
    """``amount`` x rate of ``currency``; null when the currency has no configured rate."""
    rate = lookup({code.upper(): float(rate) for code, rate in rates.items()}, F.upper(F.trim(currency)))
    return F.round(amount.cast("double") * rate, 2).cast("decimal(14,2)")
