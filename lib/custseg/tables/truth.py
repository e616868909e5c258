"""Ground truth written by the generator, for evaluating resolution and segmentation."""

from custseg.tables.spec import TableSpec, columns

TRUTH_PERSONS = TableSpec(
    name="truth_persons", layer="truth",
    description="Generated persons with their true attributes and the behaviour archetype planted.",
    primary_key=("person_id",),
    columns=columns(
        ("person_id", "bigint", "True person id", False),
        ("archetype", "string", "Planted behavioural archetype", False),
        ("first_name", "string", "True given name"),
        ("last_name", "string", "True family name"),
        ("gender", "string", "male or female"),
        ("birth_date", "date", "True date of birth"),
        ("email", "string", "True primary email"),
        ("phone_e164", "string", "True phone number, E.164"),
        ("street", "string", "True street address"),
        ("city", "string", "City"),
        ("postcode", "string", "Postcode in the country's canonical format"),
        ("country", "string", "ISO 3166-1 alpha-2 country"),
        ("income", "int", "Yearly household income in USD"),
    ),
)

TRUTH_RECORDS = TableSpec(
    name="truth_records", layer="truth",
    description="Which person is behind every generated source record, and the noise applied to it.",
    primary_key=("source", "record_id"),
    columns=columns(
        ("source", "string", "crm_customers or web_accounts", False),
        ("record_id", "string", "crm_id or account_id", False),
        ("person_id", "bigint", "True person id", False),
        ("noise", "array<string>", "Kinds of noise applied (typo, nickname, swapped_names...)"),
    ),
)

TABLES = (TRUTH_PERSONS, TRUTH_RECORDS)
