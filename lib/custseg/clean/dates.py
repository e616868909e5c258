"""Dates and timestamps typed in mixed formats: ISO 8601 (extended or basic), US, European, spelled-out months and
Unix epochs (seconds or milliseconds), with or without a time of day.

Day/month order follows the record's country where it is known (MM/dd in the US, dd/MM
elsewhere); dotted dates are always day first. Without a country, '03/04/1990' is ambiguous
and becomes null with a flag, while '25/04/1990' is not. Impossible values (month 13, a time
of 25:00, a date outside the allowed range) become null with a flag too. Each parser returns
(value, problem) where problem is null, 'unparseable', 'ambiguous' or 'impossible'. Times
without an offset are taken as UTC; ISO times with 'Z' or an offset are converted to UTC.
Intermediate values are bound once with ``let`` so the expression stays small.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg import iso8601
from custseg.textnorm import let

MONTH_FIRST_COUNTRIES = ("US",)
_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?"
_NUMERIC = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})" + _TIME + r"$"
_ISO = r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + r"$"
_ISO_ZONED = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$"
_SPELLED = r"^(\d{1,2}) ([A-Za-z]{3,9})\.? (\d{4})" + _TIME + r"$"
_EPOCH = r"^-?\d{9,13}$"
_GROUPS = {"numeric": _NUMERIC, "iso": _ISO, "spelled": _SPELLED}


def parse_mixed_timestamp(raw: Column, country: Column, earliest: str = "1900-01-01",
                          latest: Column | None = None) -> tuple[Column, Column]:
    parsed = _parsed(raw, country, earliest, latest if latest is not None else F.current_timestamp())
    return parsed.value, parsed.problem


def parse_mixed_date(raw: Column, country: Column, earliest: str = "1900-01-01",
                     latest: Column | None = None) -> tuple[Column, Column]:
    """As ``parse_mixed_timestamp``, keeping the date (a time part, if any, is accepted)."""
    parsed = mixed_date(raw, country, earliest, latest)
    return parsed.value, parsed.problem


def mixed_date(raw: Column, country: Column, earliest: str = "1900-01-01", latest: Column | None = None) -> Column:
    """``parse_mixed_date`` as one struct (value, problem). Bound to a column of its own, it lets
    both fields be read with one parse; each field of an inlined struct parses the text anew."""
    last_day = latest if latest is not None else F.current_date()
    upper = F.timestamp_add("SECOND", F.lit(86399), last_day.cast("timestamp"))
    return let(_parsed(raw, country, earliest, upper),
               lambda parsed: F.struct(F.to_date(parsed.value).alias("value"), parsed.problem.alias("problem")))


def _parsed(raw: Column, country: Column, earliest: str, latest: Column) -> Column:
    return let(iso8601.to_extended(F.trim(raw)),
               lambda text: let(_fields(text, country), lambda p: _result(p, earliest, latest)))


def _fields(text: Column, country: Column) -> Column:
    """Every regular-expression group the formats need, extracted once."""
    # A group that did not match extracts "": null it before the cast, whose failure costs an exception.
    groups = {
        f"{name}_{index}": F.nullif(F.regexp_extract(text, pattern, index), F.lit("")).try_cast("int")
        for name, pattern in _GROUPS.items() for index in range(1, 7) if not (name == "spelled" and index == 2)
    }
    dotted = F.instr(text, ".") > 0
    month_first = F.coalesce(country.isin(*MONTH_FIRST_COUNTRIES), F.lit(False)) & ~dotted
    spelled = F.concat_ws(" ", F.regexp_extract(text, _SPELLED, 1), F.regexp_extract(text, _SPELLED, 2),
                          F.regexp_extract(text, _SPELLED, 3))
    return F.struct(
        text.alias("text"),
        text.rlike(_ISO_ZONED).alias("is_zoned"), text.rlike(_ISO).alias("is_iso"),
        text.rlike(_NUMERIC).alias("is_numeric"),
        text.rlike(_SPELLED).alias("is_spelled"), text.rlike(r"^-?\d{9,10}$").alias("is_seconds"),
        text.rlike(r"^-?\d{12,13}$").alias("is_millis"),
        month_first.alias("month_first"), ((country.isNotNull() & ~month_first) | dotted).alias("day_first"),
        # Only a spelled-out date is parsed: a failed parse throws inside Spark, once per row and format.
        F.when(text.rlike(_SPELLED), F.to_date(F.coalesce(F.try_to_timestamp(spelled, F.lit("d MMM yyyy")),
                                                          F.try_to_timestamp(spelled, F.lit("d MMMM yyyy")))))
        .alias("spelled_date"),
        *[value.alias(name) for name, value in groups.items()],
    )


def _result(p: Column, earliest: str, latest: Column) -> Column:
    a, b = p.numeric_1, p.numeric_2
    ambiguous = p.is_numeric & ~p.month_first & ~p.day_first & (a <= 12) & (b <= 12) & (a != b)
    day = F.when(p.month_first, b).when(p.day_first, a).when(a > 12, a).otherwise(b)
    month = F.when(p.month_first, a).when(p.day_first, b).when(a > 12, b).otherwise(a)
    parsed = (
        F.when(p.is_zoned, p.text.try_cast("timestamp"))
        .when(p.is_iso, _make(p.iso_1, p.iso_2, p.iso_3, p, "iso"))
        .when(p.is_numeric & ~ambiguous, _make(p.numeric_3, month, day, p, "numeric"))
        .when(p.is_spelled,
              _make(F.year(p.spelled_date), F.month(p.spelled_date), F.dayofmonth(p.spelled_date), p, "spelled"))
        .when(p.is_seconds, F.timestamp_seconds(p.text.try_cast("long")))
        .when(p.is_millis, F.timestamp_millis(p.text.try_cast("long")))
    )
    return let(parsed, lambda value: _with_problem(p, value, ambiguous, earliest, latest))


def _with_problem(p: Column, value: Column, ambiguous: Column, earliest: str, latest: Column) -> Column:
    recognised = p.is_iso | p.is_zoned | p.is_numeric | p.is_spelled | p.text.rlike(_EPOCH)
    in_range = (value >= F.lit(earliest).cast("timestamp")) & (value <= latest)
    present = p.text.isNotNull() & (p.text != "")
    problem = (
        F.when(~present, F.lit(None))
        .when(ambiguous, F.lit("ambiguous"))
        .when(~recognised, F.lit("unparseable"))
        .when(value.isNull() | ~in_range, F.lit("impossible"))
    )
    return F.struct(F.when(present & problem.isNull(), value).alias("value"), problem.alias("problem"))


def _make(year: Column, month: Column, day: Column, p: Column, name: str) -> Column:
    """The timestamp from date parts and the optional time of format ``name`` (groups 4 to 6)."""
    hour, minute, second = (F.coalesce(p[f"{name}_{group}"], F.lit(0)) for group in (4, 5, 6))
    return F.try_make_timestamp(year, month, day, hour, minute, second)
