"""Source records: CRM customer rows and web/app accounts, several per person, each messy.

A person's first CRM record is nearly clean; later ones (re-registrations in other stores)
carry typos, nicknames, swapped names, changed or missing contact details and moved
addresses. Every record keeps ``person_id`` and the list of noise applied, for ground truth.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.generate import names, noise
from custseg.generate.draws import choice, integer_between, uniform
from custseg.generate.timeline import days_before
from custseg.textnorm import letters_only_key

CRM_COLUMNS = ("crm_id", "title", "first_name", "last_name", "email", "phone", "birth_date", "gender",
               "street", "city", "postcode", "country", "opt_in", "created_at", "updated_at")
WEB_COLUMNS = ("account_id", "email", "full_name", "phone", "birth_date", "postcode", "country",
               "created_at", "last_login_at")


def crm_records(timeline: DataFrame, seed: int, end_ts: Column) -> DataFrame:
    """CRM rows (all values as text, as exported) plus ``person_id`` and ``noise``."""
    copies = timeline.filter(F.col("crm_records") > 0).withColumn(
        "copy", F.explode(F.sequence(F.lit(0), F.col("crm_records") - 1))
    )

    def u(purpose: str) -> Column:
        return uniform(seed, purpose, "person_id", "copy")

    share = F.when(F.col("copy") > 0, F.lit(1.0)).otherwise(F.lit(0.1))  # first record: nearly clean
    flags = {
        "nickname": (u("nickname") < 0.2 * share) & noise.nickname(F.col("first_name")).isNotNull(),
        "typo_first_name": u("typo_first") < 0.25 * share,
        "typo_last_name": u("typo_last") < 0.2 * share,
        "swapped_names": u("swap") < 0.04 * share,
        "name_case": u("case") < 0.15 * share,
        "whitespace": u("space") < 0.06 * share,
        "email_missing": u("email_missing") < 0.12 * share + 0.02,
        "email_variant": u("email_variant") < 0.25 * share,
        "email_other": u("email_other") < 0.12 * share,
        "phone_missing": u("phone_missing") < 0.15 * share + 0.04,
        "birth_date_missing": u("dob_missing") < 0.08 * share + 0.02,
        "day_month_swapped": u("dob_swap") < 0.05 * share,
        "moved": (F.col("copy") > 0) & (u("moved") < 0.1),
        "postcode_missing": u("pc_missing") < 0.06 * share,
    }
    flagged = copies.withColumns({f"is_{k}": v for k, v in flags.items()})
    # Each kind of name noise reads the name before it several times: one column per step keeps
    # every expression small, where nesting them made plans that took Spark seconds to analyse.
    nicknamed = flagged.withColumn(
        "_first_nicknamed",
        F.when(F.col("is_nickname"), noise.nickname(F.col("first_name"))).otherwise(F.col("first_name")))
    typed = nicknamed.withColumns({
        "_first_typed": _with_typo(F.col("_first_nicknamed"), F.col("is_typo_first_name"),
                                   u("tf1"), u("tf2"), u("tf3")),
        "_last_typed": _with_typo(F.col("last_name"), F.col("is_typo_last_name"), u("tl1"), u("tl2"), u("tl3")),
    })
    values = _crm_values(seed, end_ts, u)
    return typed.withColumns(values).select(
        *CRM_COLUMNS, "person_id",
        F.array_compact(F.array(*[F.when(F.col(f"is_{k}"), F.lit(k)) for k in flags])).alias("noise"),
    )


def _crm_values(seed: int, end_ts: Column, draw: Callable[[str], Column]) -> dict[str, Column]:
    first, last = F.col("_first_typed"), F.col("_last_typed")
    first, last = (F.when(F.col("is_swapped_names"), last).otherwise(first),
                   F.when(F.col("is_swapped_names"), first).otherwise(last))
    first = _messy_text(first, draw("first_case"), draw("first_space"))
    last = _messy_text(last, draw("last_case"), draw("last_space"))
    email = (
        F.when(F.col("is_email_missing"), F.lit(None))
        .when(F.col("is_email_other"),
              noise.other_email(letters_only_key(F.col("first_name")), letters_only_key(F.col("last_name")),
                                F.year("birth_date"), draw("oe")))
        .when(F.col("is_email_variant"), noise.email_variant(F.col("email"), draw("ev")))
        .otherwise(F.col("email"))
    )
    birth = (F.when(F.col("is_day_month_swapped"), noise.swap_day_month(F.col("birth_date")))
             .otherwise(F.col("birth_date")))
    new_number = integer_between(draw("new_no"), 1, 240).cast("string")
    house = F.when(F.col("is_moved"), new_number).otherwise(F.col("house_number"))
    moved_postcode = _moved_postcode(F.col("postcode"), F.col("country"), draw("pc1"), draw("pc2"))
    postcode = F.when(F.col("is_moved"), moved_postcode).otherwise(F.col("postcode"))
    postcode = F.when(F.col("country") == "GB", _gb_postcode_variant(postcode, draw("pcv"))).otherwise(postcode)
    created = days_before(end_ts, F.col("first_order_days") + integer_between(draw("created"), 0, 30),
                          draw("created_t"))
    created_copy = days_before(end_ts, integer_between(draw("created_dup"), 0, F.col("first_order_days")),
                               draw("created_t"))
    created = F.when(F.col("copy") > 0, created_copy).otherwise(created)
    since_created = F.unix_seconds(end_ts) - F.unix_seconds(created)
    updated = F.timestamp_seconds(F.unix_seconds(created) + (draw("updated") * since_created).cast("long"))
    titles = (F.when(F.col("gender") == "male", choice(draw("title"), names.TITLES_MALE))
              .otherwise(choice(draw("title"), names.TITLES_FEMALE)))
    return {
        "crm_id": F.concat(F.lit("C"), F.upper(F.hex(F.xxhash64(F.lit(seed), F.lit("crm"), "person_id", "copy")))),
        "title": F.when(draw("title_present") < 0.6, titles),
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": F.when(~F.col("is_phone_missing"),
                        noise.phone_format(F.col("phone_e164"), F.col("country"), draw("phone_fmt"))),
        "birth_date": F.when(~F.col("is_birth_date_missing"),
                             noise.birth_date_text(birth, F.col("country"), draw("dob_fmt"))),
        "gender": F.when(draw("gender_missing") >= 0.1, noise.gender_text(F.col("gender"), draw("gender_fmt"))),
        "street": noise.street_variant(house, F.col("street_name"), F.col("street_type"), F.col("country"),
                                       draw("street_fmt")),
        "city": F.when(draw("city_case") < 0.1, F.upper("city")).otherwise(F.col("city")),
        "postcode": F.when(~F.col("is_postcode_missing"), postcode),
        "country": noise.country_text(F.col("country"), draw("country_fmt")),
        "opt_in": F.when(draw("opt_in") < 0.55, F.lit("true")).otherwise(F.lit("false")),
        "created_at": F.date_format(created, "yyyy-MM-dd HH:mm:ss"),
        "updated_at": F.date_format(updated, "yyyy-MM-dd HH:mm:ss"),
    }


def _with_typo(value: Column, when: Column, u_position: Column, u_kind: Column, u_letter: Column) -> Column:
    """``value`` with one keyboard slip where ``when`` holds; ``value`` should be a column, as a typo reads it
    many times."""
    return F.when(when, noise.typo(value, u_position, u_kind, u_letter)).otherwise(value)


def _messy_text(value: Column, u_case: Column, u_space: Column) -> Column:
    cased = F.when(F.col("is_name_case"), noise.letter_case(value, u_case)).otherwise(value)
    return F.when(F.col("is_whitespace") & (u_space < 0.5), F.concat(F.lit(" "), cased, F.lit("  "))).otherwise(cased)


def _moved_postcode(postcode: Column, country: Column, u1: Column, u2: Column) -> Column:
    """Same city, different postcode: the last two characters change."""
    head = postcode.substr(F.lit(1), F.length(postcode) - 2)
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    tail_gb = F.concat(choice(u1, list(letters)), choice(u2, list(letters)))
    tail = F.concat(F.floor(u1 * 10).cast("string"), F.floor(u2 * 10).cast("string"))
    return F.concat(head, F.when(country == "GB", tail_gb).otherwise(tail))


def _gb_postcode_variant(postcode: Column, u: Column) -> Column:
    return F.when(u < 0.15, F.lower(postcode)).when(u < 0.3, F.regexp_replace(postcode, " ", "")).otherwise(postcode)


def web_accounts(timeline: DataFrame, seed: int, end_ts: Column) -> DataFrame:
    """Web/app accounts with ``person_id`` and ``noise``; a second account uses another email."""
    accounts = timeline.filter(F.col("web_accounts") > 0).withColumn(
        "copy", F.explode(F.sequence(F.lit(0), F.col("web_accounts") - 1))
    )

    def u(purpose: str) -> Column:
        return uniform(seed, purpose, "person_id", "copy")

    style = u("name_style")
    nick = noise.nickname(F.col("first_name"))
    full_name = (
        F.when(style < 0.65, F.concat_ws(" ", "first_name", "last_name"))
        .when(style < 0.8, F.concat(F.upper("last_name"), F.lit(", "), F.col("first_name")))
        .when(style < 0.9, F.lower(F.concat_ws(" ", "first_name", "last_name")))
        .otherwise(F.concat_ws(" ", F.coalesce(nick, F.col("first_name")), F.col("last_name")))
    )
    typo_name = u("typo") < 0.08
    accounts = accounts.withColumn("_full_name", full_name)  # a typo reads the name many times: see crm_records
    full_name = _with_typo(F.col("_full_name"), typo_name, u("t1"), u("t2"), u("t3"))
    other_mail = noise.other_email(letters_only_key(F.col("first_name")), letters_only_key(F.col("last_name")),
                                   F.year("birth_date"), u("oe"))
    email_u = u("email")
    email = (
        F.when((F.col("copy") > 0) | (email_u >= 0.92), other_mail)
        .when(email_u >= 0.8, noise.email_variant(F.col("email"), u("ev")))
        .otherwise(F.col("email"))
    )
    created = days_before(end_ts, F.col("first_order_days") + integer_between(u("created"), 0, 60), u("created_t"))
    login_days = integer_between(u("login"), 0, F.greatest(F.col("last_order_days"), F.lit(1)))
    last_login = days_before(end_ts, login_days, u("login_t"))
    phone_u = u("phone")
    records = accounts.select(
        F.concat(F.lit("W"), F.upper(F.hex(F.xxhash64(F.lit(seed), F.lit("web"), "person_id", "copy"))))
        .alias("account_id"),
        email.alias("email"),
        full_name.alias("full_name"),
        F.when(phone_u < 0.45, F.col("phone_e164"))
        .when(phone_u < 0.55, noise.phone_format(F.col("phone_e164"), F.col("country"), u("phone_fmt")))
        .alias("phone"),
        F.when(u("dob") < 0.4, F.date_format("birth_date", "yyyy-MM-dd")).alias("birth_date"),
        F.when(u("pc") < 0.9, F.col("postcode")).alias("postcode"),
        F.when(u("cc") < 0.9, F.col("country")).otherwise(F.lower("country")).alias("country"),
        (F.unix_seconds(created) * 1000).alias("created_at"),
        (F.unix_seconds(last_login) * 1000).alias("last_login_at"),
        "person_id",
        F.array_compact(F.array(
            F.when(typo_name, F.lit("typo_name")),
            F.when(F.col("copy") > 0, F.lit("second_account")),
            F.when((F.col("copy") == 0) & (email_u >= 0.8), F.lit("email_variant")),
        )).alias("noise"),
    )
    return records
