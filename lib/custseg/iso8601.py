"""ISO 8601 basic format (``19560409``, ``20260301T101500Z``) rewritten in the extended format
(``1956-04-09``, ``2026-03-01T10:15:00Z``) that Spark's casts and the mixed-format parsers read.

Exports of dates of birth often use the basic format; rewriting it first lets every date parser
of the suite (typed ingest columns, the clean stage's mixed dates, resolve's own inputs) take
both forms with one rule. Values in any other form pass through unchanged.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

_ZONE = r"(Z|[+-]\d{2}(?::?\d{2})?)?"
BASIC_DATE = r"^(\d{4})(\d{2})(\d{2})$"
BASIC_DATETIME = r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d{1,9})?" + _ZONE + "$"
BASIC_DATETIME_MINUTES = r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})" + _ZONE + "$"


def to_extended(text: Column) -> Column:
    """``text`` in ISO 8601 extended format where it is in the basic format; else unchanged.

    An offset without a colon (``+0100``) gains one, and an hours-only offset (``+01``) gets
    ``:00``, so Spark's timestamp cast reads them all.
    """
    return (
        # Most values are already extended (a '-' after the year): spare them three regular expressions.
        F.when(F.substring(text, 5, 1) == "-", text)
        .when(text.rlike(BASIC_DATE), F.regexp_replace(text, BASIC_DATE, "$1-$2-$3"))
        .when(text.rlike(BASIC_DATETIME), _zone(F.regexp_replace(text, BASIC_DATETIME, "$1-$2-$3T$4:$5:$6$7$8")))
        .when(text.rlike(BASIC_DATETIME_MINUTES),
              _zone(F.regexp_replace(text, BASIC_DATETIME_MINUTES, "$1-$2-$3T$4:$5:00$6")))
        .otherwise(text)
    )


def _zone(text: Column) -> Column:
    with_colon = F.regexp_replace(text, r"([+-]\d{2})(\d{2})$", "$1:$2")
    return F.regexp_replace(with_colon, r"(T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?[+-]\d{2})$", "$1:00")
