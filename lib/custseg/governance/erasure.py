"""Right to erasure: find every identifier of a person, then drop their rows from every table.

A subject is an email, a customer id or a record ``source:record_id``. It is widened to the
whole person: the customers its records resolved to (and every id merged into them), all the
records of those customers, their emails, orders and record nodes, and any record sharing one
of those emails. Each table is then rewritten without the rows its identity columns
(``custseg.governance.subjects``) tie to the person; tables with no identity column lose the
rows that quote one of the person's identifiers in any value (logs, profiles, diagnostics).
Only small, per-person sets reach the driver.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.errors import InputDataError
from custseg.governance.keys import hmac_text, load_key
from custseg.governance.subjects import key_text, matches_plain, probes, text_columns
from custseg.resolve.identities import record_node
from custseg.runtime import JobContext
from custseg.tables.governance import ERASURE_LOG as ERASURE_LOG_SPEC

ERASURE_LOG = ERASURE_LOG_SPEC.name
# Kinds of identifier the ingest filter can meet in raw rows; nodes and person ids are derived.
LOGGED_KINDS = ("record", "record_id", "customer", "email", "order")
_MAX_ROWS = 10_000  # one person's identifiers; more means the subject is not one person


@dataclass
class PersonKeys:
    """Every identifier of the persons being erased, as plain values."""

    records: set[tuple[str, str]] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    nodes: set[int] = field(default_factory=set)
    persons: set[int] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    hashed: set[str] = field(default_factory=set)  # plain keys of their pseudonyms in exports

    def plain_keys(self) -> set[str]:
        """``kind:value`` texts of every identifier, as the table probes write them."""
        keys = {key_text("record", f"{s}:{r}") for s, r in self.records}
        keys |= {key_text("record_id", r) for _, r in self.records}
        keys |= {key_text("customer", c) for c in self.customers}
        keys |= {key_text("email", e) for e in self.emails}
        keys |= {key_text("order", o) for o in self.orders}
        keys |= {key_text("node", str(n)) for n in self.nodes}
        keys |= {key_text("person", str(p)) for p in self.persons}
        return keys | self.hashed

    def add_pseudonyms(self, key: bytes) -> None:
        """The keyed hashes exports and activations hold for them (custseg.governance.export.pseudonymize)."""
        for kind, values in (("hashed_customer", self.customers), ("hashed_email", self.emails),
                             ("hashed_phone", self.phones), ("hashed_record_id", {r for _, r in self.records})):
            self.hashed |= {key_text(kind, hmac_text(v.strip().lower(), key)) for v in values}

    def needles(self) -> list[str]:
        """Values distinctive enough to look for inside free text."""
        values = {r for _, r in self.records} | self.customers | self.emails | self.orders | self.phones
        return sorted(v for v in values if v and len(v) >= 4)

    def is_empty(self) -> bool:
        return not (self.records or self.customers)


def parse_subject(text: str, sources: list[str]) -> tuple[str, str]:
    """``(kind, value)`` of a subject: email (has '@'), record (``source:id``) or customer."""
    value = text.strip()
    if not value:
        raise InputDataError("erase: an empty --subject was given")
    if "@" in value:
        return "email", value.lower()
    source, sep, record_id = value.partition(":")
    if sep and source in sources:
        return "record", f"{source}:{record_id}"
    return "customer", value


def find_person(ctx: JobContext, subjects: list[tuple[str, str]]) -> PersonKeys:
    """Widen ``subjects`` to every identifier of the persons behind them."""
    keys = PersonKeys()
    sources = list(ctx.config.sources)
    for kind, value in subjects:
        if kind == "email":
            keys.emails.add(value)
        elif kind == "record":
            source, _, record_id = value.partition(":")
            keys.records.add((source, record_id))
        else:
            keys.customers.add(value)
    for _ in range(2):  # records -> customers -> records -> emails -> records settles in two rounds
        keys.customers |= _merged_ids(ctx, keys.customers)
        keys.records |= _records_of_customers(ctx, keys.customers) | _records_with_emails(ctx, keys.emails, sources)
        keys.customers |= _customers_of_records(ctx, keys.records)
        keys.emails |= _emails_of_records(ctx, keys.records, sources)
    keys.orders = _orders_of_records(ctx, keys.records)
    keys.phones = _values(ctx, "customer_records", _record_filter(keys.records), "phone_e164")
    keys.persons = {int(p) for p in _values(ctx, "truth_records", _record_filter(keys.records), "person_id")}
    if keys.records:
        rows = ctx.spark.createDataFrame(sorted(keys.records), "source string, record_id string")
        keys.nodes = {int(r[0]) for r in rows.select(record_node(F.col("source"), F.col("record_id"))).collect()}
    return keys


def erase_table(ctx: JobContext, name: str, keys: PersonKeys) -> int:
    """Stage ``name`` without the person's rows; returns how many rows were removed (0: untouched)."""
    spec = ctx.catalog.spec(name)
    table_probes = probes(spec)
    frame = ctx.read(name)
    condition = matches_plain(table_probes, keys.plain_keys()) if table_probes else None
    texts = text_columns(spec) or ([] if table_probes else [c.name for c in spec.columns])
    if texts:
        quoted = _quotes_any(frame, texts, keys.needles())
        if quoted is not None:
            condition = quoted if condition is None else condition | quoted
    if condition is None:
        return 0
    removed = frame.filter(condition).count()
    if removed:
        ctx.write(name, frame.filter(~condition), mode="overwrite")
    return removed


def _quotes_any(frame: DataFrame, column_names: list[str], needles: list[str]) -> Column | None:
    """True for a row any of whose ``column_names`` holds a needle as a whole word (any case)."""
    if not needles:
        return None
    # \Q..\E quotes each value for Java's regex engine; the lookarounds keep C12 from matching C123.
    alternatives = "|".join(r"\Q" + n.replace(r"\E", r"\E\\E\Q") + r"\E" for n in needles)
    pattern = r"(?i)(?<![A-Za-z0-9])(?:" + alternatives + r")(?![A-Za-z0-9])"
    text = F.to_json(F.struct(*[F.col(c) for c in column_names]))
    return F.coalesce(text.rlike(pattern), F.lit(False))


def _exists(ctx: JobContext, name: str) -> bool:
    try:
        return ctx.table_exists(name)
    except Exception:  # a table the catalog does not declare in this configuration
        return False


def _bounded(frame: DataFrame, what: str) -> list[tuple[object, ...]]:
    rows = frame.distinct().limit(_MAX_ROWS + 1).collect()
    if len(rows) > _MAX_ROWS:
        raise InputDataError(f"erase: the subject matches more than {_MAX_ROWS} {what}; name one person")
    return [tuple(r) for r in rows]


def _values(ctx: JobContext, table: str, condition: Column | None, column: str) -> set[str]:
    if condition is None or not _exists(ctx, table):
        return set()
    frame = ctx.read(table).filter(condition).select(column).dropna()
    return {str(r[0]) for r in _bounded(frame, f"{table} rows")}


def _record_filter(records: set[tuple[str, str]]) -> Column | None:
    if not records:
        return None
    keys = [f"{s}\u0000{r}" for s, r in sorted(records)]
    return F.concat(F.col("source"), F.lit("\u0000"), F.col("record_id")).isin(keys)


def _merged_ids(ctx: JobContext, customers: set[str]) -> set[str]:
    """Ids that were merged into, or now hold the records of, ``customers``."""
    if not customers or not _exists(ctx, "customer_id_map"):
        return set()
    ids = sorted(customers)
    frame = ctx.read("customer_id_map").filter(F.col("customer_id").isin(ids) | F.col("current_customer_id").isin(ids))
    return {str(v) for row in _bounded(frame.select("customer_id", "current_customer_id"), "ids") for v in row if v}


def _records_of_customers(ctx: JobContext, customers: set[str]) -> set[tuple[str, str]]:
    if not customers or not _exists(ctx, "identity_crosswalk"):
        return set()
    frame = ctx.read("identity_crosswalk").filter(F.col("customer_id").isin(sorted(customers)))
    return {(str(s), str(r)) for s, r in _bounded(frame.select("source", "record_id"), "records")}


def _customers_of_records(ctx: JobContext, records: set[tuple[str, str]]) -> set[str]:
    return _values(ctx, "identity_crosswalk", _record_filter(records), "customer_id")


def _emails_of_records(ctx: JobContext, records: set[tuple[str, str]], sources: list[str]) -> set[str]:
    emails = {e.lower() for e in _values(ctx, "customer_records", _record_filter(records), "email")}
    for source in sources:
        spec = ctx.catalog.spec(source)
        email_columns = [c.name for c in spec.columns if "email" in c.name]
        ids = sorted(r for s, r in records if s == source)
        if not email_columns or len(spec.primary_key) != 1 or not ids or not _exists(ctx, source):
            continue
        frame = ctx.read(source).filter(F.col(spec.primary_key[0]).isin(ids))
        for column in email_columns:
            emails |= {str(v[0]).strip().lower() for v in _bounded(frame.select(column).dropna(), "emails")}
    return emails


def _records_with_emails(ctx: JobContext, emails: set[str], sources: list[str]) -> set[tuple[str, str]]:
    if not emails:
        return set()
    wanted = sorted(emails)
    found: set[tuple[str, str]] = set()
    if _exists(ctx, "customer_records"):
        frame = ctx.read("customer_records").filter(F.lower(F.trim("email")).isin(wanted))
        found |= {(str(s), str(r)) for s, r in _bounded(frame.select("source", "record_id"), "records")}
    for source in sources:
        spec = ctx.catalog.spec(source)
        email_columns = [c.name for c in spec.columns if "email" in c.name]
        if not email_columns or len(spec.primary_key) != 1 or not _exists(ctx, source):
            continue
        condition = F.lit(False)
        for column in email_columns:
            condition = condition | F.coalesce(F.lower(F.trim(column)).isin(wanted), F.lit(False))
        frame = ctx.read(source).filter(condition).select(spec.primary_key[0])
        found |= {(source, str(r[0])) for r in _bounded(frame, "records")}
    return found


def _orders_of_records(ctx: JobContext, records: set[tuple[str, str]]) -> set[str]:
    if not records:
        return set()
    orders: set[str] = set()
    if _exists(ctx, "orders_clean"):
        keys = [f"{s}\u0000{r}" for s, r in sorted(records)]
        condition = F.concat(F.col("customer_source"), F.lit("\u0000"), F.col("customer_ref")).isin(keys)
        orders |= _values(ctx, "orders_clean", condition, "order_id")
    ids = sorted(r for _, r in records)
    for source, spec in ((s, ctx.catalog.spec(s)) for s in ctx.config.sources):
        names = {c.name for c in spec.columns}
        if {"order_id", "customer_ref"} <= names and _exists(ctx, source):
            orders |= _values(ctx, source, F.col("customer_ref").isin(ids), "order_id")
    return orders



def erase_person(ctx: JobContext, subjects: list[str], requested_at: dt.datetime) -> None:
    """Job body of `erase`: every table without the persons behind ``subjects``, and the log entry.

    Raises:
        InputDataError: a subject is empty, or no table holds any of the subjects.
    """
    key = load_key(ctx.config)  # before any work: the log cannot be written without it
    parsed = [parse_subject(s, list(ctx.config.sources)) for s in subjects]
    if not parsed:
        raise InputDataError("erase: name at least one --subject (an email, a customer id or source:record_id)")
    person = find_person(ctx, parsed)
    if person.is_empty():
        raise InputDataError(f"erase: no table holds {', '.join(s.strip() for s in subjects)}; nothing was erased")
    person.add_pseudonyms(key)
    removed: dict[str, int] = {}
    for spec in ctx.catalog.specs():
        if spec.name != ERASURE_LOG and _exists(ctx, spec.name):
            count = erase_table(ctx, spec.name, person)
            if count:
                removed[spec.name] = count
    subject_hash = hmac_text("\n".join(sorted(f"{k}:{v}" for k, v in parsed)), key)
    subject_kind = ",".join(sorted({k for k, _ in parsed}))
    rows = [
        (ctx.run_id, requested_at, subject_kind, subject_hash, text.split(":", 1)[0], hmac_text(text, key), removed)
        for text in sorted(person.plain_keys()) if text.split(":", 1)[0] in LOGGED_KINDS
    ]
    ctx.write_rows(ERASURE_LOG, rows, mode="append")
    ctx.metrics.update({
        "subjects": str(len(parsed)), "records": str(len(person.records)), "customers": str(len(person.customers)),
        "tables_changed": str(len(removed)), "rows_erased": str(sum(removed.values())),
    })
