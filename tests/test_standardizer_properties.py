"""Property tests for the standardizers: they never raise on arbitrary unicode, applying one
twice changes nothing, and a valid value never comes out invalid.

Each example is a batch of values evaluated in one Spark job, so few examples cover many values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from custseg.clean import address, contact, dates, names, values
from custseg.clean.address import ISO_COUNTRIES

FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ANY_TEXT = st.lists(st.one_of(st.none(), st.text(max_size=40)), min_size=1, max_size=60)
COUNTRIES = ["US", "GB", "DE", "FR", None]


def _apply(spark: SparkSession, texts: list[str | None], build: dict[str, Column]) -> list[dict[str, object]]:
    frame = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, raw string")
    built = frame.select("i", "raw", *[e.alias(n) for n, e in build.items()])
    return [r.asDict() for r in built.orderBy("i").collect()]


def _again(spark: SparkSession, texts: list[str | None],
           functions: dict[str, Callable[[Column], Column]]) -> dict[str, list[tuple[object, object]]]:
    """Per function, (f(x), f(f(x))) for every x; one query computes every function."""
    frame = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, raw string")
    once = frame.select("i", *[function(F.col("raw")).alias(f"once_{name}") for name, function in functions.items()])
    twice = once.select("i", *[column for name, function in functions.items() for column in (
        F.col(f"once_{name}"), function(F.col(f"once_{name}")).alias(f"twice_{name}"))])
    rows = twice.orderBy("i").collect()
    return {name: [(r[f"once_{name}"], r[f"twice_{name}"]) for r in rows] for name in functions}


@FEW
@given(texts=ANY_TEXT, country=st.sampled_from(COUNTRIES))
def test_standardizers_never_raise_on_arbitrary_text(spark: SparkSession, texts: list[str | None],
                                                     country: str | None) -> None:
    region = F.lit(country)
    first, last = names.split_full_name(F.col("raw"))
    parsed, problem = dates.parse_mixed_date(F.col("raw"), region)
    rows = _apply(spark, texts, {
        "email": contact.normalized_email(F.col("raw")),
        "key": contact.email_key(contact.normalized_email(F.col("raw"))),
        "phone": contact.phone_e164(F.col("raw"), region, "US"), "date": parsed, "problem": problem,
        "postcode": address.postcode(F.col("raw"), region),
        "country": address.iso_country(F.col("raw"), {"uk": "GB"}),
        "street": address.canonical_street(F.col("raw")), "display": names.display_case(F.col("raw")),
        "name_key": names.name_key(F.col("raw")), "first": first, "last": last,
        "gender": values.mapped_category(F.col("raw"), {"m": "male"}),
    })
    assert len(rows) == len(texts)
    for row in rows:
        assert row["gender"] in ("male", "unknown")
        assert row["problem"] in (None, "ambiguous", "unparseable", "impossible")
        assert (row["date"] is None) or (row["problem"] is None)


@FEW
@given(texts=ANY_TEXT)
def test_text_standardizers_are_idempotent(spark: SparkSession, texts: list[str | None]) -> None:
    applied = _again(spark, texts, {
        "email": contact.normalized_email, "display": names.display_case, "name_key": names.name_key,
        "street": address.canonical_street, "postcode_gb": lambda c: address.postcode(c, F.lit("GB")),
        "postcode_us": lambda c: address.postcode(c, F.lit("US")),
        "country": lambda c: address.iso_country(c, {"uk": "GB"}),
    })
    for name, pairs in applied.items():
        for once, twice in pairs:
            assert once == twice, name


@FEW
@given(emails=st.lists(st.emails().filter(lambda e: len(e) <= 254), min_size=1, max_size=40))
def test_valid_emails_stay_valid_and_keys_are_stable(spark: SparkSession, emails: list[str]) -> None:
    normalized = contact.normalized_email(F.col("raw"))
    rows = _apply(spark, [f"  {e.upper()} " for e in emails],
                  {"email": normalized, "key": contact.email_key(normalized)})
    for email, row in zip(emails, rows, strict=True):
        assert row["email"] == email.lower()
        assert row["key"] is not None and "+" not in str(row["key"]).split("@")[0]


PHONE_EXAMPLES = [
    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    for region in ("US", "GB", "DE", "FR", "NL", "ES", "IT", "CA", "AU", "JP")
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    if (number := phonenumbers.example_number_for_type(region, kind)) is not None
]


@FEW
@given(numbers=st.lists(st.sampled_from(PHONE_EXAMPLES), min_size=1, max_size=20), region=st.sampled_from(COUNTRIES))
def test_valid_phone_numbers_stay_valid_in_any_region(spark: SparkSession, numbers: list[str],
                                                      region: str | None) -> None:
    rows = _apply(spark, numbers, {"e164": contact.phone_e164(F.col("raw"), F.lit(region), "US")})
    assert [r["e164"] for r in rows] == numbers
    again = _apply(spark, [str(r["e164"]) for r in rows],
                   {"e164": contact.phone_e164(F.col("raw"), F.lit(region), "US")})
    assert [r["e164"] for r in again] == numbers


@FEW
@given(days=st.lists(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 1, 1)), min_size=1, max_size=40),
       country=st.sampled_from(["US", "GB", "DE", "FR"]))
def test_valid_dates_parse_back_in_every_format_of_their_country(spark: SparkSession, days: list[dt.date],
                                                                 country: str) -> None:
    local = {"US": "%m/%d/%Y", "GB": "%d/%m/%Y", "DE": "%d.%m.%Y", "FR": "%d/%m/%Y"}[country]
    texts = [d.isoformat() for d in days] + [d.strftime(local) for d in days] + [f"{d.day} {d:%b %Y}" for d in days]
    parsed, problem = dates.parse_mixed_date(F.col("raw"), F.lit(country), latest=F.lit(dt.date(2026, 6, 30)))
    rows = _apply(spark, texts, {"date": parsed, "problem": problem})
    assert [r["date"] for r in rows] == days * 3
    assert {r["problem"] for r in rows} == {None}


@FEW
@given(codes=st.lists(st.sampled_from(sorted(ISO_COUNTRIES)), min_size=1, max_size=40),
       postcodes=st.lists(st.from_regex(r"\A(SW1A|M1|EH3|B15) [0-9][ABD-HJLNP-UW-Z]{2}\Z"), min_size=1, max_size=20))
def test_valid_codes_and_postcodes_stay_valid(spark: SparkSession, codes: list[str], postcodes: list[str]) -> None:
    countries = _apply(spark, [c.lower() for c in codes], {"country": address.iso_country(F.col("raw"), {})})
    assert [r["country"] for r in countries] == codes
    rows = _apply(spark, [p.replace(" ", "").lower() for p in postcodes],
                  {"postcode": address.postcode(F.col("raw"), F.lit("GB"))})
    assert [r["postcode"] for r in rows] == postcodes
