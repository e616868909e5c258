"""Dates typed in mixed formats: ISO, US, European, spelled-out months and Unix epochs.

Day/month order follows the record's country where it is known (MM/dd in the US, dd/MM
elsewhere). Without a country, '03/04/1990' is ambiguous and becomes null with a flag,
while '25/04/1990' is not. Impossible values (month 13, a birth date in the future or before
1900) become null with a flag too. Returns (date, problem) where problem is null,
'unparseable', 'ambiguous' or 'impossible'.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

DAY_FIRST_EXCEPTIONS = ("US",)  # countries writing month first
_NUMERIC = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$"
_ISO = r"^(\d{4})-(\d{1,2})-(\d{1,2})$"


def parse_mixed_date(raw: Column, country: Column, earliest: str = "1900-01-01", latest: Column | None = None) -> tuple[Column, Column]:
    text = F.trim(raw)
    latest = latest if latest is not None else F.current_date()
    a = F.regexp_extract(text, _NUMERIC, 1).try_cast("int")
    b = F.regexp_extract(text, _NUMERIC, 2).try_cast("int")
    year = F.regexp_extract(text, _NUMERIC, 3).try_cast("int")
    dotted = F.instr(text, ".") > 0
    # coalesce: with a null country, isin() is null, and null would silence the ambiguity check
    month_first = F.coalesce(country.isin(*DAY_FIRST_EXCEPTIONS), F.lit(False)) & ~dotted
    day_first = (country.isNotNull() & ~month_first) | dotted
    unknown_order = ~month_first & ~day_first
    numeric = text.rlike(_NUMERIC)
    ambiguous = numeric & unknown_order & (a <= 12) & (b <= 12) & (a != b)
    day = F.when(month_first, b).when(day_first, a).when(a > 12, a).otherwise(b)
    month = F.when(month_first, a).when(day_first, b).when(a > 12, b).otherwise(a)
    parsed = (
        F.when(text.rlike(_ISO), F.try_to_timestamp(text, F.lit("yyyy-M-d")))
        .when(numeric & ~ambiguous, F.try_make_timestamp(year, month, day, F.lit(0), F.lit(0), F.lit(0)))
        .when(text.rlike(r"^\d{1,2} [A-Za-z]{3,9}\.? \d{4}$"),
              F.coalesce(F.try_to_timestamp(text, F.lit("d MMM yyyy")), F.try_to_timestamp(text, F.lit("d MMMM yyyy"))))
        .when(text.rlike(r"^-?\d{9,10}$"), F.timestamp_seconds(text.try_cast("long")))
        .when(text.rlike(r"^-?\d{12,13}$"), F.timestamp_millis(text.try_cast("long")))
    )
    date = F.to_date(parsed)
    in_range = (date >= F.lit(earliest).cast("date")) & (date <= latest)
    recognised = text.rlike(_ISO) | numeric | text.rlike(r"^\d{1,2} [A-Za-z]{3,9}\.? \d{4}$") | text.rlike(r"^-?\d{9,13}$")
    present = text.isNotNull() & (text != "")
    problem = (
        F.when(~present, F.lit(None))
        .when(ambiguous, F.lit("ambiguous"))
        .when(~recognised, F.lit("unparseable"))
        .when(date.isNull() | ~in_range, F.lit("impossible"))
    )
    return F.when(present & problem.isNull(), date), problem
