"""Generated persons: the truth behind every source record.

One row per person with true identity attributes, an archetype, and the counts of source
records and accounts the record generators will create for them. All columns come from
deterministic hash draws on ``person_id`` (see ``draws``), so the table is the same for a
given seed and size on any cluster.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.columns import lookup
from custseg.config.model import GenerateSettings
from custseg.generate import archetypes, names, places
from custseg.generate.draws import (
    choice,
    digits,
    integer_between,
    normal,
    skewed_choice,
    uniform,
    weighted_choice,
)
from custseg.textnorm import letters_only_key

ROWS_PER_PARTITION = 25_000


def generate_persons(spark: SparkSession, settings: GenerateSettings) -> DataFrame:
    """Persons with identity, archetype and record counts; see module doc."""
    seed = settings.seed
    partitions = max(2, min(400, settings.customers // ROWS_PER_PARTITION + 1))
    base = spark.range(1, settings.customers + 1, numPartitions=partitions).withColumnRenamed("id", "person_id")

    def u(purpose: str) -> Column:
        return uniform(seed, purpose, "person_id")

    mix = archetypes.weights(settings.archetype_weights)
    people = base.withColumns({
        "archetype": weighted_choice(u("archetype"), mix),
        "gender": F.when(u("gender") < 0.5, F.lit("female")).otherwise(F.lit("male")),
        "country": weighted_choice(u("country"), places.COUNTRY_WEIGHTS),
        "last_name": _last_name(seed),
        "age_years": (18 + 64 * F.pow(u("age"), F.lit(1.25))).cast("int"),
    })
    people = people.withColumns({
        "first_name": F.when(F.col("gender") == "male", skewed_choice(u("first_name"), names.MALE_FIRST_NAMES, 1.6))
        .otherwise(skewed_choice(u("first_name"), names.FEMALE_FIRST_NAMES, 1.6)),
        "city": _per_country(lambda c: choice(u("city"), list(places.CITIES[c]))),
        "birth_date": F.date_sub(F.lit(settings.end_date),
                                 (F.col("age_years") * 365.25 + u("birthday") * 365).cast("int")),
    })
    people = people.withColumns({
        "postcode": _postcode(seed),
        **_street_columns(seed),
        "email": _email(seed, settings.customers),
        "phone_e164": _phone(seed),
        "income": _income(seed),
        **_record_counts(seed, settings, archetypes.web_account_shares(settings.web_account_rate, mix)),
    })
    return people.drop("age_years")


def _last_name(seed: int) -> Column:
    """A third of people carry one of the common surnames (skewed), the rest a rarer composed one."""
    common = skewed_choice(uniform(seed, "last_common", "person_id"), names.LAST_NAMES, 1.8)
    composed = F.concat(choice(uniform(seed, "last_root", "person_id"), names.SURNAME_ROOTS),
                        choice(uniform(seed, "last_end", "person_id"), names.SURNAME_ENDINGS))
    return F.when(uniform(seed, "last_kind", "person_id") < 0.35, common).otherwise(composed)


def _per_country(build: object) -> Column:
    expression: Column | None = None
    for country in places.COUNTRY_WEIGHTS:
        value = build(country)  # type: ignore[operator]
        condition = F.col("country") == country
        expression = F.when(condition, value) if expression is None else expression.when(condition, value)
    assert expression is not None
    return expression


def _postcode(seed: int) -> Column:
    prefixes = {city: prefix for cities in places.CITIES.values() for city, prefix in cities.items()}
    prefix = lookup(prefixes, F.col("city"))
    inward_letters = "ABDEFGHJLNPQRSTUWXYZ"
    gb = F.concat(
        prefix, F.lit(" "), digits(seed, "pc_gb", 1, "person_id"),
        choice(uniform(seed, "pc_gb_a", "person_id"), list(inward_letters)),
        choice(uniform(seed, "pc_gb_b", "person_id"), list(inward_letters)),
    )
    arrondissement = integer_between(uniform(seed, "pc_paris", "person_id"), 1, 20).cast("string")
    paris = F.concat(F.lit("750"), F.lpad(arrondissement, 2, "0"))
    return (
        F.when(F.col("country") == "GB", gb)
        .when(F.col("city") == "Paris", paris)
        .when(F.col("country") == "DE", F.concat(prefix, digits(seed, "pc", 3, "person_id")))
        .otherwise(F.concat(prefix, digits(seed, "pc", 2, "person_id")))
    )


def _street_columns(seed: int) -> dict[str, Column]:
    """House number, street name and the long form of the street type; ``street`` joins them
    in the country's order ('12 Oak Street', 'Hauptstraße 12', '12 rue de la Paix')."""
    number = integer_between(uniform(seed, "house_no", "person_id"), 1, 240).cast("string")
    name = _per_country(lambda c: choice(uniform(seed, "street", "person_id"), places.STREET_NAMES[c]))
    street_type = _per_country(
        lambda c: choice(uniform(seed, "street_type", "person_id"), list(places.STREET_TYPES[c])))
    street = (
        F.when(F.col("country") == "DE", F.concat(name, street_type, F.lit(" "), number))
        .when(F.col("country") == "FR", F.concat_ws(" ", number, street_type, name))
        .otherwise(F.concat_ws(" ", number, name, street_type))
    )
    return {"house_number": number, "street_name": name, "street_type": street_type, "street": street}


def _unique_number(multiplier: int, modulus: int) -> Column:
    """A number unique per person while person_id < modulus: x -> x * multiplier mod modulus is a
    bijection when the two are coprime. Emails and phones of different people never collide."""
    return F.pmod(F.col("person_id") * F.lit(multiplier), F.lit(modulus))


def _email(seed: int, customers: int) -> Column:
    first = letters_only_key(F.col("first_name"))
    last = letters_only_key(F.col("last_name"))
    style = uniform(seed, "email_style", "person_id")
    modulus = next(p for p in (100_003, 1_000_003, 10_000_019, 100_000_007) if p > customers)
    number = _unique_number(7919, modulus).cast("string")
    local = (
        F.when(style < 0.3, F.concat(first, F.lit("."), last, number))
        .when(style < 0.5, F.concat(first, last, number))
        .when(style < 0.7, F.concat(F.substring(first, 1, 1), last, number))
        .when(style < 0.85, F.concat(first, F.lit("_"), last, number))
        .otherwise(F.concat(last, F.lit("."), first, number))
    )
    domain = _per_country(lambda c: choice(uniform(seed, "email_domain", "person_id"), names.EMAIL_DOMAINS[c]))
    return F.concat(local, F.lit("@"), domain)


def _phone(seed: int) -> Column:
    def number_for(country: str) -> Column:
        plans = places.PHONE_PLANS[country]
        prefix = choice(uniform(seed, "phone_plan", "person_id"), [p for p, _ in plans])
        size = lookup({p: str(n) for p, n in plans}, prefix).cast("int")
        # 10**7 and 10**8 share no factor with 7_654_321, so each prefix's numbers are unique.
        unique = F.lpad(_unique_number(7_654_321, 10**8).cast("string"), 8, "0")
        subscriber = unique.substr(F.lit(9) - size, size)
        if country == "US":  # exchange codes start with 2-9
            exchange = choice(uniform(seed, "phone_ex", "person_id"), list("23456789"))
            subscriber = F.concat(exchange, subscriber.substr(F.lit(2), F.lit(6)))
        return F.concat(F.lit("+" + places.DIAL_CODES[country]), prefix, subscriber)

    return _per_country(number_for)


def _income(seed: int) -> Column:
    median = lookup({a.name: str(a.income_median) for a in archetypes.ARCHETYPES}, F.col("archetype")).cast("double")
    noise = normal(uniform(seed, "income_a", "person_id"), uniform(seed, "income_b", "person_id"))
    return F.round(median * F.exp(0.35 * noise), -3).cast("int")


def _record_counts(seed: int, settings: GenerateSettings, web_shares: dict[str, float]) -> dict[str, Column]:
    """How many CRM records and web accounts each person has. Everyone has at least one; the
    chance of a web account is the person's archetype's."""
    has_web = uniform(seed, "has_web", "person_id") < lookup(web_shares, F.col("archetype"))
    has_crm = ~has_web | (uniform(seed, "has_crm", "person_id") < 0.85)
    duplicated = uniform(seed, "crm_dup", "person_id") < settings.duplicate_person_rate
    extra = integer_between(uniform(seed, "crm_dup_n", "person_id"), 1, 3)
    crm_records = F.when(~has_crm, 0).when(duplicated, 1 + extra).otherwise(1)
    web_accounts = F.when(~has_web, 0).when(uniform(seed, "web_two", "person_id") < 0.08, 2).otherwise(1)
    return {"crm_records": crm_records.cast("int"), "web_accounts": web_accounts.cast("int")}
