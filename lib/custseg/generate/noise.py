"""Column functions that make clean values messy the way real customer data is messy.

Each takes the clean value and uniform draws (``draws.uniform``) and returns a variant:
typos, nicknames, case and spacing, phone and date formats, spellings of genders and
countries, abbreviated street types. Records use them to disagree with each other.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg.columns import lookup
from custseg.generate import places
from custseg.generate.draws import choice
from custseg.reference.nicknames import NICKNAMES

_LETTERS = list("abcdefghijklmnopqrstuvwxyz")


def typo(value: Column, u_position: Column, u_kind: Column, u_letter: Column) -> Column:
    """One keyboard slip: delete, transpose, substitute or insert a letter, never at the start."""
    length = F.length(value)
    position = (F.lit(2) + F.floor(u_position * (length - 1))).cast("int")  # 2..length
    before = value.substr(F.lit(1), position - 1)
    current = value.substr(position, F.lit(1))
    after = value.substr(position + 1, length)
    letter = choice(u_letter, _LETTERS)
    slipped = (
        F.when(u_kind < 0.3, F.concat(before, after))
        .when(u_kind < 0.55,
              F.concat(before, after.substr(F.lit(1), F.lit(1)), current, after.substr(F.lit(2), length)))
        .when(u_kind < 0.8, F.concat(before, letter, after))
        .otherwise(F.concat(before, letter, current, after))
    )
    return F.when(length >= 3, slipped).otherwise(value)


def nickname(first_name: Column) -> Column:
    """The usual short form, or null when the name has none."""
    return lookup(NICKNAMES, first_name)


def letter_case(value: Column, u: Column) -> Column:
    return F.when(u < 0.5, F.upper(value)).when(u < 0.8, F.lower(value)).otherwise(value)


def phone_format(e164: Column, country: Column, u: Column) -> Column:
    """The E.164 number written the way people type it in that country."""
    dial = F.regexp_extract(e164, r"^\+(1|44|49|33)", 1)
    national = F.regexp_extract(e164, r"^\+(?:1|44|49|33)(\d+)$", 1)
    trunk = F.concat(F.lit("0"), national)  # GB/DE/FR national form
    us = (
        F.when(u < 0.25, F.regexp_replace(national, r"^(\d{3})(\d{3})(\d{4})$", "($1) $2-$3"))
        .when(u < 0.45, F.regexp_replace(national, r"^(\d{3})(\d{3})(\d{4})$", "$1-$2-$3"))
        .when(u < 0.6, F.regexp_replace(national, r"^(\d{3})(\d{3})(\d{4})$", "$1.$2.$3"))
        .when(u < 0.75, national)
        .when(u < 0.9, F.regexp_replace(e164, r"^\+1(\d{3})(\d{3})(\d{4})$", "+1 $1 $2 $3"))
        .otherwise(F.concat(F.lit("1-"), F.regexp_replace(national, r"^(\d{3})(\d{3})(\d{4})$", "$1-$2-$3")))
    )
    grouped_fr = F.regexp_replace(trunk, r"^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$", "$1 $2 $3 $4 $5")
    grouped_gb = F.regexp_replace(trunk, r"^(\d{5})(\d+)$", "$1 $2")
    grouped_de = F.regexp_replace(trunk, r"^(\d{4})(\d+)$", "$1 $2")
    international = F.concat(F.lit("+"), dial, F.lit(" "), national)
    grouped = F.when(country == "FR", grouped_fr).when(country == "GB", grouped_gb).otherwise(grouped_de)
    others = (
        F.when(u < 0.35, grouped)
        .when(u < 0.55, trunk)
        .when(u < 0.75, international)
        .when(u < 0.85, F.concat(F.lit("00"), dial, national))
        .otherwise(e164)
    )
    return F.when(country == "US", us).otherwise(others)


def birth_date_text(birth_date: Column, country: Column, u: Column) -> Column:
    """Dates in the country's CRM convention, sometimes ISO, sometimes spelled out."""
    local = F.when(country == "US", F.date_format(birth_date, places.DATE_FORMATS["US"]))
    for code in ("GB", "DE", "FR"):
        local = local.when(country == code, F.date_format(birth_date, places.DATE_FORMATS[code]))
    return (
        F.when(u < 0.25, F.date_format(birth_date, "yyyy-MM-dd"))
        .when(u < 0.3, F.date_format(birth_date, "d MMM yyyy"))
        .otherwise(local)
    )


def swap_day_month(date: Column) -> Column:
    """The classic US/EU mix-up; only possible when the day could be a month."""
    return F.when(
        F.dayofmonth(date) <= 12, F.make_date(F.year(date), F.dayofmonth(date), F.month(date))
    ).otherwise(date)


def gender_text(gender: Column, u: Column) -> Column:
    male = choice(u, ["M", "Male", "male", "m", "MALE", "Mr"])
    female = choice(u, ["F", "Female", "female", "f", "w", "Woman"])
    return F.when(gender == "male", male).otherwise(female)


def country_text(country: Column, u: Column) -> Column:
    codes = list(places.COUNTRY_SPELLINGS)
    spelled = F.when(country == codes[0], choice(u, list(places.COUNTRY_SPELLINGS[codes[0]])))
    for code in codes[1:]:
        spelled = spelled.when(country == code, choice(u, list(places.COUNTRY_SPELLINGS[code])))
    return spelled


def street_variant(house_number: Column, street_name: Column, street_type: Column, country: Column,
                   u: Column) -> Column:
    """The street line with the type abbreviated half of the time ('Oak St.', 'Hauptstr. 12')."""
    abbreviations = {long: list(short) for table in places.STREET_TYPES.values() for long, short in table.items()}
    short = choice(u, lookup(abbreviations, street_type))
    kind = F.when(u < 0.5, short).otherwise(street_type)
    return (
        F.when(country == "DE", F.concat(street_name, kind, F.lit(" "), house_number))
        .when(country == "FR", F.concat_ws(" ", house_number, kind, street_name))
        .otherwise(F.concat_ws(" ", house_number, street_name, kind))
    )


def email_variant(email: Column, u: Column) -> Column:
    """Same mailbox, written differently: case, stray spaces, a +tag, or gmail's ignored dots."""
    local = F.substring_index(email, "@", 1)
    domain = F.substring_index(email, "@", -1)
    return (
        F.when(u < 0.3,
               F.concat(F.initcap(local), F.lit("@"), F.upper(F.substring(domain, 1, 1)), F.substring(domain, 2, 100)))
        .when(u < 0.5, F.concat(F.lit(" "), email, F.lit(" ")))
        .when(u < 0.7, F.concat(local, F.lit("+shop@"), domain))
        .when(u < 0.85, F.upper(email))
        .otherwise(F.concat(F.regexp_replace(local, r"\.", ""), F.lit("@"), domain))
    )


def other_email(first_key: Column, last_key: Column, birth_year: Column, u: Column) -> Column:
    """A different mailbox of the same person (an old work or school address)."""
    domain = choice(u, ["aol.com", "mail.com", "protonmail.com", "yahoo.com", "gmx.net"])
    return F.concat(F.substring(first_key, 1, 1), last_key, birth_year.cast("string"), F.lit("@"), domain)
