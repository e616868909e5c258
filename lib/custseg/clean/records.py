"""CRM records and web accounts standardized into one ``customer_records`` shape.

Every rule is a column function from the sibling modules; this module only maps each source's
columns onto them and records what was flagged in ``quality_flags``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.clean import address, contact, dates, names, values
from custseg.config.model import CleanSettings
from custseg.textnorm import blank_to_null

# quality flag -> (column, rule) for the cleaning log
FLAG_RULES = {
    "email_invalid": ("email", "invalid email -> null"),
    "phone_invalid": ("phone_e164", "invalid phone -> null"),
    "birth_date_ambiguous": ("birth_date", "ambiguous day/month -> null"),
    "birth_date_impossible": ("birth_date", "impossible date -> null"),
    "birth_date_unparseable": ("birth_date", "unrecognised date format -> null"),
    "postcode_invalid": ("postcode", "invalid postcode for country -> null"),
    "country_unknown": ("country", "unknown country -> null"),
    "gender_unmapped": ("gender", "unmapped value -> unknown"),
    "title_split": ("title", "title split off the first name"),
    "suffix_split": ("name_suffix", "suffix split off the last name"),
    "name_missing": ("last_name", "no usable family name"),
}


def standardize_crm(crm: DataFrame, settings: CleanSettings, latest_date: Column) -> DataFrame:
    country = address.iso_country(F.col("country"), settings.country_values)
    split_title, first = names.split_title(F.col("first_name"))
    last, suffix = names.split_suffix(F.col("last_name"))
    prepared = crm.select(
        "*", country.alias("iso_country"), split_title.alias("split_title"),
        first.alias("first_raw"), last.alias("last_raw"), suffix.alias("suffix_raw"),
    )
    title = F.coalesce(F.initcap(F.regexp_replace(blank_to_null(F.col("title")), r"\.$", "")), F.col("split_title"))
    return _standard_shape(
        prepared, settings, latest_date, source="crm_customers", record_id=F.col("crm_id"), title=title,
        first=F.col("first_raw"), last=F.col("last_raw"), suffix=F.col("suffix_raw"),
        gender=F.col("gender"), street=F.col("street"), city=F.col("city"),
        opt_in=F.col("opt_in"), created=F.col("created_at"), updated=F.col("updated_at"),
        extra_flags={"title_split": F.col("split_title").isNotNull(), "suffix_split": F.col("suffix_raw").isNotNull()},
    )


def standardize_web(web: DataFrame, settings: CleanSettings, latest_date: Column) -> DataFrame:
    first, last = names.split_full_name(F.col("full_name"))
    last_clean, suffix = names.split_suffix(last)
    prepared = web.select(
        "*", address.iso_country(F.col("country"), settings.country_values).alias("iso_country"),
        first.alias("first_raw"), last_clean.alias("last_raw"), suffix.alias("suffix_raw"),
    )
    null = F.lit(None).cast("string")
    return _standard_shape(
        prepared, settings, latest_date, source="web_accounts", record_id=F.col("account_id"), title=null,
        first=F.col("first_raw"), last=F.col("last_raw"), suffix=F.col("suffix_raw"),
        gender=null, street=null, city=null, opt_in=F.lit(None).cast("boolean"),
        created=F.timestamp_millis(F.col("created_at")), updated=F.lit(None).cast("timestamp"),
        extra_flags={"suffix_split": F.col("suffix_raw").isNotNull()},
    )


def _standard_shape(
    frame: DataFrame, settings: CleanSettings, latest_date: Column, *, source: str, record_id: Column,
    title: Column, first: Column, last: Column, suffix: Column, gender: Column, street: Column,
    city: Column, opt_in: Column, created: Column, updated: Column, extra_flags: Mapping[str, Column],
) -> DataFrame:
    country = F.col("iso_country")
    # Values that a flag reads again are computed once, in columns of their own: inlined, each
    # flag would run the phone UDF, parse the date or match the email and postcode once more.
    frame = frame.withColumns({
        "phone_std": contact.phone_e164(F.col("phone"), country, settings.default_region),
        "email_std": contact.normalized_email(F.col("email")),
        "birth_std": dates.mixed_date(F.col("birth_date"), country, latest=latest_date),
        "postcode_std": address.postcode(F.col("postcode"), country),
        "street_std": address.canonical_street(street),
        "last_key_std": names.name_key(last),
    })
    email, phone, postcode = F.col("email_std"), F.col("phone_std"), F.col("postcode_std")
    birth_date, birth_problem = F.col("birth_std.value"), F.col("birth_std.problem")
    street_line, last_key = F.col("street_std"), F.col("last_key_std")
    flags = {
        "email_invalid": contact.email_problem(F.col("email"), email),
        "phone_invalid": contact.phone_problem(F.col("phone"), phone),
        "birth_date_ambiguous": birth_problem == "ambiguous",
        "birth_date_impossible": birth_problem == "impossible",
        "birth_date_unparseable": birth_problem == "unparseable",
        "postcode_invalid": blank_to_null(F.col("postcode")).isNotNull() & postcode.isNull(),
        "country_unknown": blank_to_null(F.col("country")).isNotNull() & country.isNull(),
        "gender_unmapped": values.is_unmapped(gender, settings.gender_values),
        "name_missing": last_key.isNull(),
        **extra_flags,
    }
    return frame.select(
        F.lit(source).alias("source"),
        record_id.alias("record_id"),
        title.alias("title"),
        names.display_case(first).alias("first_name"),
        names.display_case(last).alias("last_name"),
        suffix.alias("name_suffix"),
        names.name_key(first).alias("first_name_key"),
        last_key.alias("last_name_key"),
        email.alias("email"),
        contact.email_key(email).alias("email_key"),
        phone.alias("phone_e164"),
        birth_date.alias("birth_date"),
        values.mapped_category(gender, settings.gender_values).alias("gender"),
        street_line.alias("street"),
        address.address_key(street_line).alias("street_key"),
        names.display_case(city).alias("city"),
        postcode.alias("postcode"),
        country.alias("country"),
        opt_in.alias("opt_in"),
        created.alias("created_at"),
        updated.alias("updated_at"),
        F.array_compact(F.array(*[F.when(flag, F.lit(name)) for name, flag in flags.items()])).alias("quality_flags"),
        "source_file",
        "source_line",
    )
