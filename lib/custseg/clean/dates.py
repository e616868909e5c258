"""Dates and timestamps typed in mixed formats: ISO 8601, US, European, spelled-out months and
Unix epochs (seconds or milliseconds), with or without a time of day.

Day/month order follows the record's country where it is known (MM/dd in the US, dd/MM
elsewhere); dotted dates are always day first. Without a country, '03/04/1990' is ambiguous
and becomes null with a flag, while '25/04/1990' is not. Impossible values (month 13, a time
of 25:00, a date outside the allowed range) become null with a flag too. Each parser returns
(value, problem) where problem is null, 'unparseable', 'ambiguous' or 'impossible'. Times
without an offset are taken as UTC; ISO times with 'Z' or an offset are converted to UTC.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

MONTH_FIRST_COUNTRIES = ("US",)
_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?"
_NUMERIC = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})" + _TIME + r"$"
_ISO = r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + r"$"
_ISO_ZONED = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$"
_SPELLED = r"^(\d{1,2}) ([A-Za-z]{3,9})\.? (\d{4})" + _TIME + r"$"
_EPOCH = r"^-?\d{9,13}$"


def parse_mixed_timestamp(raw: Column, country: Column, earliest: str = "1900-01-01",
                          latest: Column | None = None) -> tuple[Column, Column]:
    text = F.trim(raw)
    latest = latest if latest is not None else F.current_timestamp()
    a, b = _group(text, _NUMERIC, 1), _group(text, _NUMERIC, 2)
    dotted = F.instr(text, ".") > 0
    # coalesce: with a null country, isin() is null, and null would silence the ambiguity check
    month_first = F.coalesce(country.isin(*MONTH_FIRST_COUNTRIES), F.lit(False)) & ~dotted
    day_first = (country.isNotNull() & ~month_first) | dotted
    numeric = text.rlike(_NUMERIC)
    ambiguous = numeric & ~month_first & ~day_first & (a <= 12) & (b <= 12) & (a != b)
    day = F.when(month_first, b).when(day_first, a).when(a > 12, a).otherwise(b)
    month = F.when(month_first, a).when(day_first, b).when(a > 12, b).otherwise(a)
    spelled = F.concat_ws(" ", _text(text, _SPELLED, 1), _text(text, _SPELLED, 2), _text(text, _SPELLED, 3))
    spelled_date = F.coalesce(F.try_to_timestamp(spelled, F.lit("d MMM yyyy")), F.try_to_timestamp(spelled, F.lit("d MMMM yyyy")))
    parsed = (
        F.when(text.rlike(_ISO_ZONED), text.try_cast("timestamp"))
        .when(text.rlike(_ISO), _make(_group(text, _ISO, 1), _group(text, _ISO, 2), _group(text, _ISO, 3), text, _ISO, 4))
        .when(numeric & ~ambiguous, _make(_group(text, _NUMERIC, 3), month, day, text, _NUMERIC, 4))
        .when(text.rlike(_SPELLED), _make(F.year(spelled_date), F.month(spelled_date), F.dayofmonth(spelled_date), text, _SPELLED, 4))
        .when(text.rlike(r"^-?\d{9,10}$"), F.timestamp_seconds(text.try_cast("long")))
        .when(text.rlike(r"^-?\d{12,13}$"), F.timestamp_millis(text.try_cast("long")))
    )
    recognised = text.rlike(_ISO) | text.rlike(_ISO_ZONED) | numeric | text.rlike(_SPELLED) | text.rlike(_EPOCH)
    in_range = (parsed >= F.lit(earliest).cast("timestamp")) & (parsed <= latest)
    present = text.isNotNull() & (text != "")
    problem = (
        F.when(~present, F.lit(None))
        .when(ambiguous, F.lit("ambiguous"))
        .when(~recognised, F.lit("unparseable"))
        .when(parsed.isNull() | ~in_range, F.lit("impossible"))
    )
    return F.when(present & problem.isNull(), parsed), problem


def parse_mixed_date(raw: Column, country: Column, earliest: str = "1900-01-01",
                     latest: Column | None = None) -> tuple[Column, Column]:
    """As ``parse_mixed_timestamp``, keeping the date (a time part, if any, is accepted)."""
    upper = F.timestamp_add("SECOND", F.lit(86399), (latest if latest is not None else F.current_date()).cast("timestamp"))
    parsed, problem = parse_mixed_timestamp(raw, country, earliest, upper)
    return F.to_date(parsed), problem


def _group(text: Column, pattern: str, index: int) -> Column:
    return F.regexp_extract(text, pattern, index).try_cast("int")


def _text(text: Column, pattern: str, index: int) -> Column:
    return F.regexp_extract(text, pattern, index)


def _make(year: Column, month: Column, day: Column, text: Column, pattern: str, first_time_group: int) -> Column:
    hour = F.coalesce(_group(text, pattern, first_time_group), F.lit(0))
    minute = F.coalesce(_group(text, pattern, first_time_group + 1), F.lit(0))
    second = F.coalesce(_group(text, pattern, first_time_group + 2), F.lit(0))
    return F.try_make_timestamp(year, month, day, hour, minute, second)
