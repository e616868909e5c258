"""Standardizers, one table of cases each: input -> expected output, with nulls and negatives."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from chispa import DataFramesNotEqualError, assert_df_equality
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from custseg.clean import address, contact, dates, names, values
from custseg.config import Config

GENDERS = {"m": "male", "male": "male", "f": "female", "female": "female", "x": "other"}
COUNTRIES = {"usa": "US", "united kingdom": "GB", "uk": "GB", "deutschland": "DE"}
RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}


def _check(spark: SparkSession, cases: list[tuple], columns: str, build: dict[str, Column]) -> None:  # type: ignore[type-arg]
    """``cases`` rows are inputs followed by expected outputs; ``build`` computes the outputs."""
    frame = spark.createDataFrame(cases, columns)
    inputs = [c for c in frame.columns if not c.startswith("expected_")]
    actual = frame.select(*inputs, *[expr.alias(f"expected_{name}") for name, expr in build.items()])
    assert_df_equality(actual, frame, ignore_nullable=True, ignore_row_order=True)


def test_emails(spark: SparkSession) -> None:
    cases = [
        (" John.Doe@Example.COM ", "john.doe@example.com", "john.doe@example.com", False),
        ("john.doe+shop@gmail.com", "john.doe+shop@gmail.com", "johndoe@gmail.com", False),
        ("J.Doe@googlemail.com", "j.doe@googlemail.com", "jdoe@gmail.com", False),
        ("a.b+x@outlook.com", "a.b+x@outlook.com", "a.b@outlook.com", False),
        ("not-an-email", None, None, True),
        ("a..b@example.com", None, None, True),
        ("name@localhost", None, None, True),
        ('"quoted@x.com', None, None, True),
        ("", None, None, False),
        (None, None, None, False),
    ]
    email = contact.normalized_email(F.col("raw"))
    _check(spark, cases, "raw string, expected_email string, expected_key string, expected_problem boolean", {
        "email": email, "key": contact.email_key(email), "problem": contact.email_problem(F.col("raw")),
    })


def test_phones_to_e164(spark: SparkSession) -> None:
    cases = [
        ("(415) 972-8413", "US", "+14159728413", False),
        ("1-415-972-8413", "US", "+14159728413", False),
        ("0151 62962985", "DE", "+4915162962985", False),
        ("0049 151 62962985", None, "+4915162962985", False),  # international prefix, default region
        ("07541 234582", "GB", "+447541234582", False),
        ("+44 7541 234582", "FR", "+447541234582", False),  # explicit country code wins over region
        ("06 12 34 56 78", "FR", "+33612345678", False),
        ("12345", "US", None, True),
        ("call me", "US", None, True),
        (None, "US", None, False),
    ]
    e164 = contact.phone_e164(F.col("raw"), F.col("region"), "US")
    _check(spark, cases, "raw string, region string, expected_e164 string, expected_problem boolean", {
        "e164": e164, "problem": contact.phone_problem(F.col("raw"), e164),
    })


def test_mixed_format_dates(spark: SparkSession) -> None:
    d = dt.date
    cases = [
        ("12/25/1965", "US", d(1965, 12, 25), None),
        ("25/12/1965", "GB", d(1965, 12, 25), None),
        ("03/04/1990", "US", d(1990, 3, 4), None),
        ("03/04/1990", "FR", d(1990, 4, 3), None),
        ("03/04/1990", None, None, "ambiguous"),
        ("25/04/1990", None, d(1990, 4, 25), None),
        ("04/04/1990", None, d(1990, 4, 4), None),
        ("14.02.1980", "DE", d(1980, 2, 14), None),
        ("14.02.1980", "US", d(1980, 2, 14), None),  # dots always mean day first
        ("1980-02-14", None, d(1980, 2, 14), None),
        ("1980-2-4", "US", d(1980, 2, 4), None),
        ("3 Mar 1985", None, d(1985, 3, 3), None),
        ("3 March 1985", None, d(1985, 3, 3), None),
        ("477100800", None, d(1985, 2, 13), None),
        ("477100800000", None, d(1985, 2, 13), None),
        ("13/13/1990", "US", None, "impossible"),
        ("02/30/1990", "US", None, "impossible"),
        ("2090-01-01", None, None, "impossible"),
        ("1850-01-01", None, None, "impossible"),
        ("yesterday", "US", None, "unparseable"),
        ("12/25/65", "US", None, "unparseable"),
        ("1980-02-14 00:00:00", None, d(1980, 2, 14), None),
        ("12/25/1965 10:30", "US", d(1965, 12, 25), None),
        ("19560409", None, d(1956, 4, 9), None),  # ISO 8601 basic format
        ("19560409T101500Z", "US", d(1956, 4, 9), None),
        ("19561309", None, None, "impossible"),
        ("1956049", None, None, "unparseable"),
        ("", "US", None, None),
        (None, "US", None, None),
    ]
    parsed, problem = dates.parse_mixed_date(F.col("raw"), F.col("country"), latest=F.lit(dt.date(2026, 6, 30)))
    _check(spark, cases, "raw string, country string, expected_date date, expected_problem string",
           {"date": parsed, "problem": problem})


def test_mixed_format_timestamps(spark: SparkSession) -> None:
    t = dt.datetime
    cases = [
        ("12/25/1965 10:30", "US", t(1965, 12, 25, 10, 30), None),
        ("2024-03-05T14:15:16Z", None, t(2024, 3, 5, 14, 15, 16), None),
        ("2024-03-05T14:15:16+02:00", None, t(2024, 3, 5, 12, 15, 16), None),
        ("2024-03-05T14:15:16.250-0500", None, t(2024, 3, 5, 19, 15, 16, 250000), None),
        ("2024-03-05 14:15", None, t(2024, 3, 5, 14, 15), None),
        ("2024-03-05", None, t(2024, 3, 5), None),
        ("05.03.2024 14:15:16", "DE", t(2024, 3, 5, 14, 15, 16), None),
        ("3 Mar 2024 09:00", None, t(2024, 3, 3, 9, 0), None),
        ("1709648116", None, t(2024, 3, 5, 14, 15, 16), None),
        ("1709648116000", None, t(2024, 3, 5, 14, 15, 16), None),
        ("20240305T141516Z", None, t(2024, 3, 5, 14, 15, 16), None),  # ISO 8601 basic format
        ("20240305T141516+0200", None, t(2024, 3, 5, 12, 15, 16), None),
        ("20240305T141516.5-05", None, t(2024, 3, 5, 19, 15, 16, 500000), None),
        ("20240305T1415", None, t(2024, 3, 5, 14, 15), None),
        ("20240305", None, t(2024, 3, 5), None),
        ("20240305T2515", None, None, "impossible"),
        ("03/04/2024 10:00", None, None, "ambiguous"),
        ("12/25/1965 25:00", "US", None, "impossible"),
        ("2030-01-01 00:00", None, None, "impossible"),
        ("noon on Tuesday", None, None, "unparseable"),
        (None, None, None, None),
    ]
    parsed, problem = dates.parse_mixed_timestamp(F.col("raw"), F.col("country"),
                                                  latest=F.lit(dt.datetime(2026, 6, 30)))
    _check(spark, cases, "raw string, country string, expected_ts timestamp, expected_problem string",
           {"ts": parsed, "problem": problem})


def test_postcodes_per_country(spark: SparkSession) -> None:
    cases = [
        ("sw1a1aa", "GB", "SW1A 1AA"), ("M1 1AE", "GB", "M1 1AE"), ("EH3 9ZZ", "GB", "EH3 9ZZ"),
        ("SW1A", "GB", None), ("94103-1234", "US", "94103"), ("02134", "US", "02134"), ("9410", "US", None),
        ("F-75001", "FR", "75001"), ("10115", "DE", "10115"), ("1234", "DE", None),
        (" 1017 ab ", "NL", "1017 AB"), ("", "US", None), (None, "GB", None),
    ]
    _check(spark, cases, "raw string, country string, expected_postcode string",
           {"postcode": address.postcode(F.col("raw"), F.col("country"))})


def test_countries(spark: SparkSession) -> None:
    cases = [("United Kingdom", "GB"), (" usa ", "US"), ("de", "DE"), ("ES", "ES"), ("Deutschland", "DE"),
             ("FRA", "FR"), ("Spain", "ES"), ("bolivia", "BO"), ("South Korea", "KR"),  # ISO codes and names
             ("Narnia", None), ("XX", None), ("XXX", None), (None, None)]
    _check(spark, cases, "raw string, expected_country string",
           {"country": address.iso_country(F.col("raw"), COUNTRIES)})


def test_street_lines(spark: SparkSession) -> None:
    cases = [
        ("12 Oak St.", "12 Oak Street", "12 oak street"),
        ("57 WASHINGTON RD", "57 Washington Road", "57 washington road"),
        ("133 Madison Ln", "133 Madison Lane", "133 madison lane"),
        ("9 Elm Ave", "9 Elm Avenue", "9 elm avenue"),
        ("Ringstr. 4", "Ringstraße 4", "ringstrasse 4"),
        ("Hauptstrasse 12", "Hauptstraße 12", "hauptstrasse 12"),
        ("29 bd Voltaire", "29 boulevard Voltaire", "29 boulevard voltaire"),
        ("12 r. de la Paix", "12 rue de la Paix", "12 rue de la paix"),
        ("4 St Albans Road", "4 St Albans Road", "4 st albans road"),  # a leading 'St' is a saint
        (None, None, None),
    ]
    street = address.canonical_street(F.col("raw"))
    _check(spark, cases, "raw string, expected_street string, expected_key string",
           {"street": street, "key": address.address_key(street)})


def test_names(spark: SparkSession) -> None:
    cases = [
        ("Dr. John", "Smith Jr.", "Dr", "John", "Smith", "Jr", "john", "smith"),
        ("Mrs  Jane", "King III", "Mrs", "Jane", "King", "III", "jane", "king"),
        ("ZOË", "o'brien-smith", None, "Zoë", "O'Brien-Smith", None, "zoe", "obriensmith"),
        ("McKenzie", "de la Cruz", None, "McKenzie", "de la Cruz", None, "mckenzie", "delacruz"),
        ("MARIE-CLAIRE", "DUBOIS", None, "Marie-Claire", "Dubois", None, "marieclaire", "dubois"),
        ("Drew", "Drummond", None, "Drew", "Drummond", None, "drew", "drummond"),
        ("  ", None, None, None, None, None, None, None),
    ]
    title, first = names.split_title(F.col("first_raw"))
    last, suffix = names.split_suffix(F.col("last_raw"))
    _check(spark, cases,
           "first_raw string, last_raw string, expected_title string, expected_first string, expected_last string, "
           "expected_suffix string, expected_first_key string, expected_last_key string",
           {"title": title, "first": names.display_case(first), "last": names.display_case(last), "suffix": suffix,
            "first_key": names.name_key(first), "last_key": names.name_key(last)})


def test_full_names(spark: SparkSession) -> None:
    cases = [("Jane Smith", "Jane", "Smith"), ("SMITH, Jane", "Jane", "SMITH"),
             ("Jane van der Berg", "Jane", "van der Berg"), ("Cher", None, "Cher"), (None, None, None)]
    first, last = names.split_full_name(F.col("raw"))
    _check(spark, cases, "raw string, expected_first string, expected_last string", {"first": first, "last": last})


def test_categories_and_unknowns(spark: SparkSession) -> None:
    cases = [("M", "male", False), ("Male ", "male", False), ("f", "female", False), ("X", "other", False),
             ("banana", "unknown", True), ("", "unknown", False), (None, "unknown", False)]
    _check(spark, cases, "raw string, expected_value string, expected_unmapped boolean", {
        "value": values.mapped_category(F.col("raw"), GENDERS), "unmapped": values.is_unmapped(F.col("raw"), GENDERS),
    })


def test_reporting_currency(spark: SparkSession) -> None:
    cases = [(Decimal("10.00"), "EUR", Decimal("10.80")), (Decimal("10.00"), " gbp", Decimal("12.70")),
             (Decimal("3.33"), "USD", Decimal("3.33")), (Decimal("10.00"), "JPY", None), (None, "USD", None)]
    _check(spark, cases, "amount decimal(12,2), currency string, expected_reporting decimal(14,2)",
           {"reporting": values.to_reporting_currency(F.col("amount"), F.col("currency"), RATES)})


def test_a_wrong_expectation_fails(spark: SparkSession) -> None:
    """The helper above can fail: a deliberately wrong expected value is caught."""
    with pytest.raises(DataFramesNotEqualError):
        _check(spark, [("12 Oak St.", "12 Oak St.")], "raw string, expected_street string",
               {"street": address.canonical_street(F.col("raw"))})


def test_values_the_flags_read_are_parsed_once(spark: SparkSession, base_config: Config) -> None:
    """The quality flags read the standardized date, email and postcode; they must not parse or
    match the raw text again (inlined, a record's birth date was parsed four times)."""
    from custseg.clean.records import standardize_crm

    columns = ("crm_id", "title", "first_name", "last_name", "email", "phone", "birth_date", "gender", "street",
               "city", "postcode", "country", "opt_in", "created_at", "updated_at", "source_file")
    crm = spark.createDataFrame([tuple("x" for _ in columns) + (1,)],
                                ", ".join(f"{c} string" for c in columns) + ", source_line long")
    plan = standardize_crm(crm, base_config.clean, F.current_date())._jdf.queryExecution().analyzed().toString()
    once = crm.select(dates.mixed_date(F.col("birth_date"), F.col("country")).alias("birth_date"),
                      contact.normalized_email(F.col("email")).alias("email"),
                      address.postcode(F.col("postcode"), F.col("country")).alias("postcode"))
    alone = once._jdf.queryExecution().analyzed().toString()
    for pattern in (dates._SPELLED, contact.EMAIL_PATTERN, "[A-Z]{1,2}"):
        assert plan.count(pattern) == alone.count(pattern) > 0, pattern
