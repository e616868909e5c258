"""Addresses: countries to ISO 3166-1 alpha-2, postcodes per country, canonical street lines.

Street-type abbreviations are unified to their long form so that '12 Oak St.' and
'12 Oak Street', or 'Ringstr. 4' and 'Ringstraße 4', compare equal.
"""

from __future__ import annotations

from collections.abc import Mapping

import pycountry
from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg.clean.names import display_case
from custseg.columns import is_one_of, lookup
from custseg.textnorm import blank_to_null, fold_accents

ISO_COUNTRIES = frozenset(country.alpha_2 for country in pycountry.countries)
# Alpha-3 codes and English names (short, official, common) of every ISO 3166-1 country.
COUNTRY_NAMES = {
    value.lower(): country.alpha_2
    for country in pycountry.countries
    for value in (country.alpha_3, country.name,
                  *(getattr(country, name, None) for name in ("official_name", "common_name")))
    if value
}

# (pattern, replacement) applied in order to a street line; patterns are case-insensitive.
STREET_RULES = (
    (r"(?i)\b(st|str)\.?$", "Street"),
    (r"(?i)\b(ave|av)\.?$", "Avenue"),
    (r"(?i)\brd\.?$", "Road"),
    (r"(?i)\bdr\.?$", "Drive"),
    (r"(?i)\bln\.?$", "Lane"),
    (r"(?i)\bblvd\.?$", "Boulevard"),
    (r"(?i)\bcl\.?$", "Close"),
    (r"(?i)\bwy\.?$", "Way"),
    (r"(?i)(\p{L})(str\.|strasse|str)(\s|$)", "$1straße$3"),
    (r"(?i)^(\d+[a-z]?\s+)(r\.|r)\s", "$1rue "),
    (r"(?i)^(\d+[a-z]?\s+)(av\.|ave)\s", "$1avenue "),
    (r"(?i)^(\d+[a-z]?\s+)(bd|boul\.)\s", "$1boulevard "),
)


def iso_country(raw: Column, spellings: Mapping[str, str]) -> Column:
    """ISO alpha-2 code from a code or a name: the configured ``spellings`` first, then ISO's
    alpha-2 and alpha-3 codes and English names (pycountry); null when unknown."""
    key = F.lower(F.trim(blank_to_null(raw)))
    known = {**COUNTRY_NAMES, **{k.lower(): v for k, v in spellings.items()}}
    code = F.upper(key)
    return F.coalesce(lookup(dict(sorted(known.items())), key), F.when(is_one_of(code, sorted(ISO_COUNTRIES)), code))


def postcode(raw: Column, country: Column) -> Column:
    """Canonical postcode for US (5 digits), GB ('SW1A 1AA'), DE and FR (5 digits); null if
    invalid for its country; other countries are upper-cased and trimmed only."""
    compact = F.upper(F.regexp_replace(blank_to_null(raw), r"[\s]", ""))
    us = F.regexp_extract(compact, r"^(\d{5})(-?\d{4})?$", 1)
    gb = F.regexp_replace(compact, r"^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$", "$1 $2")
    five = F.regexp_extract(F.regexp_replace(compact, r"^(D|F)-", ""), r"^(\d{5})$", 1)
    return (
        F.when(compact.isNull(), F.lit(None))
        .when(country == "US", F.when(us != "", us))
        .when(country == "GB", F.when(gb.rlike(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$"), gb))
        .when(country.isin("DE", "FR"), F.when(five != "", five))
        .otherwise(F.upper(blank_to_null(raw)))
    )


def canonical_street(raw: Column) -> Column:
    street = display_case(raw)
    for pattern, replacement in STREET_RULES:
        street = F.regexp_replace(street, pattern, replacement)
    return street


def address_key(street: Column) -> Column:
    """Matching form of a canonical street line: folded, lower case, single spaces."""
    return F.regexp_replace(F.lower(fold_accents(street)), r"[^a-z0-9]+", " ")
