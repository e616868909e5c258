"""Identity records from any customer table, through the configured column mapping.

Whatever the input (our silver table or a user's own CSV), each mapped role is brought to a
matching form here with the standardizers of the clean stage: name keys, canonical emails,
E.164 phones, parsed dates, address keys and canonical postcodes. Unmapped roles are null.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.clean import address, contact, dates, names
from custseg.config.model import IDENTITY_ROLES, ResolveSettings
from custseg.errors import InputDataError
from custseg.resolve.broadcast import broadcast_if_small
from custseg.textnorm import fold_accents

ROLES = ("first_name", "last_name", "birth_date", "email", "phone", "national_id",
         "street", "postcode", "city", "country")


def read_input(spark: SparkSession, settings: ResolveSettings) -> DataFrame:
    """A file input (the table input is read through the job context instead)."""
    source = settings.input
    assert source.path is not None
    try:
        return spark.read.format(source.format).options(**source.options).load(source.path)
    except Exception as exc:  # Spark's AnalysisException for a missing path
        raise InputDataError(f"resolve.input: cannot read {source.format} from {source.path}: "
                             f"{str(exc).splitlines()[0][:300]}") from exc


def check_mapping(frame: DataFrame, settings: ResolveSettings, name: str) -> None:
    missing = {role: column for role, column in settings.column_names.items() if column not in frame.columns}
    if missing:
        listed = ", ".join(f"{role} -> {column!r}" for role, column in missing.items())
        raise InputDataError(f"resolve.columns: mapped column(s) missing from {name}: {listed}; "
                             f"its columns are {', '.join(frame.columns)}")


def prepare_identities(frame: DataFrame, settings: ResolveSettings, source_name: str, default_region: str,
                       keep: dict[str, Column] | None = None) -> DataFrame:
    """One row per record: source, record_id, node (64-bit id) and the matching form of each role
    (plus the input columns of ``keep``, by the names given)."""
    mapped = settings.column_names
    hashed = raw_hash(settings, default_region)

    def raw(role: str) -> Column:
        return F.col(mapped[role]) if role in mapped else F.lit(None).cast("string")

    country = (address.iso_country(raw("country").cast("string"), {}) if "country" in mapped
               else F.lit(None).cast("string"))
    first, last = raw("first_name"), raw("last_name")
    if "full_name" in mapped and "first_name" not in mapped:
        first, last = names.split_full_name(F.col(mapped["full_name"]))
    prepared = frame.select(
        _source(settings, source_name).alias("source"),
        F.col(mapped["record_id"]).cast("string").alias("record_id"),
        names.name_key(first.cast("string")).alias("first_name"),
        names.name_key(last.cast("string")).alias("last_name"),
        parsed_birth_date(frame, settings, country).alias("birth_date"),
        contact.email_key(contact.normalized_email(raw("email").cast("string"))).alias("email"),
        raw("phone").cast("string").alias("phone_raw"),
        F.when(F.regexp_replace(raw("national_id").cast("string"), "[^A-Za-z0-9]", "") != "",
               F.upper(F.regexp_replace(raw("national_id").cast("string"), "[^A-Za-z0-9]", ""))).alias("national_id"),
        F.when(address.address_key(address.canonical_street(raw("street").cast("string"))) != "",
               F.trim(address.address_key(address.canonical_street(raw("street").cast("string"))))).alias("street"),
        F.coalesce(address.postcode(raw("postcode").cast("string"), country),
                   F.upper(F.regexp_replace(raw("postcode").cast("string"), r"\s", ""))).alias("postcode"),
        F.when(F.trim(raw("city").cast("string")) != "",
               F.lower(fold_accents(F.trim(raw("city").cast("string"))))).alias("city"),
        country.alias("country"),
        hashed.alias("raw_hash"),
        *[column.alias(name) for name, column in (keep or {}).items()],
    ).filter(F.col("record_id").isNotNull())
    with_phone = prepared.withColumn(
        "phone", contact.phone_e164(F.col("phone_raw"), F.col("country"), default_region) if "phone" in mapped
        else F.lit(None).cast("string"),
    ).drop("phone_raw")
    return with_phone.withColumns({
        "node": record_node(F.col("source"), F.col("record_id")),
        "content_hash": F.xxhash64(*[F.col(role).cast("string") for role in ROLES]),
    })


# Roles whose standardized form is null when a present value cannot be read.
PARSED_ROLES = ("birth_date", "email", "phone", "country")


@dataclass
class UnparsedColumn:
    role: str
    column: str
    present: int        # non-empty values in the rows checked
    failed: int         # of those, values that did not standardize
    examples: list[str]

    @property
    def share(self) -> float:
        return self.failed / self.present if self.present else 0.0

    def describe(self) -> str:
        shown = ", ".join(repr(e) for e in self.examples)
        return (f"column {self.column!r} ({self.role}): {self.share:.0%} of {self.present} values could not be read "
                f"(for example {shown})")


RAW_PREFIX = "__raw_"  # the input value of a parsed role, kept beside its standardized form for the check


def raw_values(frame: DataFrame, settings: ResolveSettings) -> dict[str, Column]:
    """The input values (empty ones as null) of each mapped role of PARSED_ROLES held as text,
    as ``keep`` columns for :func:`prepare_identities`, for :func:`parsing_warnings` to read."""
    mapped = settings.column_names
    types = {f.name: f.dataType for f in frame.schema.fields}
    roles = [r for r in PARSED_ROLES if r in mapped and isinstance(types[mapped[r]], T.StringType)]
    return {f"{RAW_PREFIX}{r}": F.when(F.trim(F.col(mapped[r])) != "", F.col(mapped[r])) for r in roles}


def checked_sample(frame: DataFrame, settings: ResolveSettings, source_name: str, default_region: str,
                   rows: int = 20_000) -> DataFrame:
    """The first ``rows`` input rows prepared with their :func:`raw_values`: what a run that
    standardizes only some records checks."""
    return prepare_identities(frame.limit(rows), settings, source_name, default_region,
                              keep=raw_values(frame, settings))


def unparsed_columns(prepared: DataFrame, settings: ResolveSettings) -> list[UnparsedColumn]:
    """Per mapped role of PARSED_ROLES, how many present values of ``prepared`` (identities
    with their :func:`raw_values`) did not standardize, with three of them: a wrong date
    pattern or a column mapped to the wrong role shows here, before any matching."""
    roles = [c[len(RAW_PREFIX):] for c in prepared.columns if c.startswith(RAW_PREFIX)]
    if not roles:
        return []
    failed = {r: F.col(f"{RAW_PREFIX}{r}").isNotNull() & F.col(r).isNull() for r in roles}
    counts = prepared.agg(*[x for r in roles for x in (
        F.count(f"{RAW_PREFIX}{r}").alias(f"present_{r}"), F.count_if(failed[r]).alias(f"failed_{r}"),
        # Bounded: three values of 40 characters are kept of those that failed.
        F.slice(F.collect_list(F.when(failed[r], F.substring(f"{RAW_PREFIX}{r}", 1, 40))), 1, 3)
        .alias(f"examples_{r}"),
    )]).first()
    assert counts is not None
    mapped = settings.column_names
    return [UnparsedColumn(r, mapped[r], counts[f"present_{r}"], counts[f"failed_{r}"], list(counts[f"examples_{r}"]))
            for r in roles]


def parsing_warnings(prepared: DataFrame, settings: ResolveSettings, source_name: str) -> list[str]:
    """Stop (or warn, by resolve.unparsed_severity) when a mapped column mostly fails to read in
    ``prepared`` (identities with their :func:`raw_values`)."""
    problems = [c for c in unparsed_columns(prepared, settings) if c.share > settings.max_unparsed_share]
    if not problems:
        return []
    hints = {"birth_date": "give its pattern, e.g. resolve.columns.birth_date: {column: %s, format: dd.MM.yyyy}"}
    described = [f"{c.describe()}; "
                 + hints.get(c.role, f"check that the column holds {c.role} values").replace("%s", c.column)
                 for c in problems]
    if settings.unparsed_severity == "error":
        raise InputDataError(f"resolve: in {source_name}, " + "; and ".join(described)
                             + f" (above resolve.max_unparsed_share {settings.max_unparsed_share}; "
                             "resolve.unparsed_severity: warn goes on regardless)")
    return [f"in {source_name}, {d}" for d in described]


def parsed_birth_date(frame: DataFrame, settings: ResolveSettings, country: Column) -> Column:
    """The mapped birth date as a date: read with its configured pattern, else as ISO 8601
    (basic or extended) or the usual national forms in ``country``'s day/month order."""
    mapped = settings.column_names
    if "birth_date" not in mapped:
        return F.lit(None).cast("date")
    column = F.col(mapped["birth_date"])
    if isinstance(frame.schema[mapped["birth_date"]].dataType, (T.DateType, T.TimestampType)):
        return F.to_date(column)
    pattern = settings.column_formats.get("birth_date")
    if pattern:
        return F.to_date(F.try_to_timestamp(F.trim(column.cast("string")), F.lit(pattern)))
    birth, _ = dates.parse_mixed_date(column.cast("string"), country)
    return F.to_date(birth)


def raw_hash(settings: ResolveSettings, default_region: str) -> Column:
    """A hash of a record's mapped input columns as read, and of the settings that shape their
    matching form: equal raw hashes mean equal matching values, without computing them."""
    mapped = settings.column_names
    # Not the input's name: a file input is named by its path, which changes from batch to
    # batch, and an unmapped source already changes every node when it changes.
    formats = f"|{sorted(settings.column_formats.items())}" if settings.column_formats else ""
    shaping = f"{sorted(mapped.items())}{formats}|{default_region}"
    return F.xxhash64(
        F.lit(shaping),
        *[F.col(column).cast("string") for role, column in sorted(mapped.items()) if role != "record_id"])


def record_node(source: Column, record_id: Column) -> Column:
    """A record's 64-bit node id, from its source and record id as strings."""
    return F.xxhash64(source, record_id)


def _source(settings: ResolveSettings, source_name: str) -> Column:
    mapped = settings.column_names
    return F.col(mapped["source"]).cast("string") if "source" in mapped else F.lit(source_name)


def input_node(settings: ResolveSettings, source_name: str) -> Column:
    """The node of an input row, before standardization."""
    return record_node(_source(settings, source_name), F.col(settings.column_names["record_id"]).cast("string"))


def mapped_roles(settings: ResolveSettings) -> list[str]:
    roles = set(settings.column_names) & set(IDENTITY_ROLES)
    if "full_name" in roles:
        roles |= {"first_name", "last_name"}
    return [r for r in ROLES if r in roles]


def with_pair_nodes(pairs: DataFrame) -> DataFrame:
    """match_pairs rows with the node ids of both records (node_l < node_r, as they were scored)."""
    return pairs.withColumns({"node_l": record_node(F.col("source_l"), F.col("record_id_l")),
                              "node_r": record_node(F.col("source_r"), F.col("record_id_r"))})


def identities_of_pairs(identities: DataFrame, pairs: DataFrame) -> DataFrame:
    """The identities of both records of ``pairs`` (node_l, node_r). They are usually few next
    to all identities: picked by a broadcast set of their nodes (a scan), so the joins that
    follow do not shuffle every identity, all columns, once per side."""
    nodes = pairs.select(F.col("node_l").alias("node")).unionByName(pairs.select(F.col("node_r").alias("node")))
    return identities.join(broadcast_if_small(nodes.distinct().checkpoint(eager=True)), "node", "left_semi")
