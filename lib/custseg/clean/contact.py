"""Emails and phone numbers.

Emails are trimmed, lower-cased and checked against a practical RFC 5322 subset; invalid ones
become null and are flagged. ``email_key`` is the matching form: no '+tag', and Gmail's
ignored dots removed. Phones become E.164 with Google's libphonenumber rules (the
``phonenumbers`` package) in a vectorized pandas UDF: Spark has no built-in for numbering
plans, and Arrow batches keep the Python cost to one parse per distinct number per batch.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import StringType

from custseg.textnorm import let

_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
# Top-level domains are letters, or punycode ('xn--...') for internationalized ones.
_DOMAIN = r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{2,59})"
EMAIL_PATTERN = f"^{_LOCAL}@{_DOMAIN}$"
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def normalized_email(raw: Column) -> Column:
    """Trimmed, lower-case; null when empty or not a valid address."""
    return let(F.lower(F.regexp_replace(raw, r"\s+", "")), lambda candidate: F.when(
        candidate.rlike(EMAIL_PATTERN) & (F.length(candidate) <= 254)
        & (F.length(F.substring_index(candidate, "@", 1)) <= 64), candidate))


def email_problem(raw: Column, normalized: Column | None = None) -> Column:
    """True when a value was given but is not a valid address (``normalized``: the raw value's
    ``normalized_email``, when it is already a column)."""
    normalized = normalized if normalized is not None else normalized_email(raw)
    return (F.trim(F.coalesce(raw, F.lit(""))) != "") & normalized.isNull()


def email_key(email: Column) -> Column:
    """Matching key of a normalized email: '+tag' dropped, dots dropped for Gmail."""
    def key(address: Column) -> Column:
        local = F.regexp_replace(F.substring_index(address, "@", 1), r"\+.*$", "")
        domain = F.substring_index(address, "@", -1)
        domain = F.when(domain == "googlemail.com", F.lit("gmail.com")).otherwise(domain)
        local = F.when(domain.isin(*GMAIL_DOMAINS), F.regexp_replace(local, r"\.", "")).otherwise(local)
        return F.when(address.isNotNull(), F.concat(local, F.lit("@"), domain))

    return let(email, key)


def mailbox_name(email: Column) -> Column:
    """The part of an email before '@' without '.', '_' or '-': people keep one name across
    providers and spell it with or without separators (ann.lee77@a.com, annlee77@b.org)."""
    return F.regexp_replace(F.substring_index(email, "@", 1), "[._-]", "")


@pandas_udf(StringType())  # type: ignore[call-overload]  # a type object: no SparkContext needed at import
def _e164(numbers: pd.Series, regions: pd.Series) -> pd.Series:
    import phonenumbers

    def parse(number: object, region: object) -> str | None:
        if not isinstance(number, str) or not number.strip():
            return None
        text = number.strip()
        if text.startswith("00"):
            text = "+" + text[2:]  # international prefix used across Europe
        try:
            parsed = phonenumbers.parse(text, region if isinstance(region, str) else None)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(parsed):
            return None
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    pairs = pd.DataFrame({"number": numbers, "region": regions})
    distinct = pairs.drop_duplicates().copy()
    distinct["e164"] = [parse(n, r) for n, r in zip(distinct["number"], distinct["region"], strict=True)]
    return pairs.merge(distinct, on=["number", "region"], how="left")["e164"]


def phone_e164(raw: Column, region: Column, default_region: str) -> Column:
    """E.164 ('+14155550123') or null; ``region`` (ISO country) reads national formats."""
    return _e164(raw, F.coalesce(region, F.lit(default_region)))


def phone_problem(raw: Column, e164: Column) -> Column:
    return (F.trim(F.coalesce(raw, F.lit(""))) != "") & e164.isNull()
