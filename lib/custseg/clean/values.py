"""Categorical values mapped through config, and amounts converted to the reporting currency."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg.textnorm import blank_to_null

UNKNOWN = "unknown"


def mapped_category(raw: Column, mapping: Mapping[str, str]) -> Column:
    """The configured value for ``raw`` (case and spacing ignored); 'unknown' when missing or unmapped."""
    key = F.lower(blank_to_null(raw))
    pairs = [F.lit(x) for kv in mapping.items() for x in (kv[0].strip().lower(), kv[1])]
    return F.coalesce(F.try_element_at(F.create_map(*pairs), key), F.lit(UNKNOWN)) if pairs else F.lit(UNKNOWN)


def is_unmapped(raw: Column, mapping: Mapping[str, str]) -> Column:
    """True when a value was given but has no mapping (counted in the cleaning log)."""
    return blank_to_null(raw).isNotNull() & (mapped_category(raw, mapping) == UNKNOWN)


def to_reporting_currency(amount: Column, currency: Column, rates: Mapping[str, float]) -> Column:
    """``amount`` x rate of ``currency``; null when the currency has no configured rate."""
    pairs = [F.lit(x) for code, rate in rates.items() for x in (code.upper(), float(rate))]
    rate = F.try_element_at(F.create_map(*pairs), F.upper(F.trim(currency)))
    return F.round(amount.cast("double") * rate, 2).cast("decimal(14,2)")
