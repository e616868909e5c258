"""Where a person lives in the warehouse: identity columns found from the table declarations.

No table list is kept here. A table holds a person when its declared columns include an
identity column, recognized by name: customer ids, record keys (a source column with a record
id column beside it), record nodes, order ids, account ids, emails, generated person ids. A
bronze table adds its primary key as a record key of its source. Every probe yields text
``kind:value`` in one normalized form (trimmed, lower case), so the same probe serves an
erasure (compared with the plain keys) and the ingest filter (compared with keyed hashes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg.catalog import TableSpec
from custseg.governance.keys import normalized

# Column name -> kind of identifier it holds.
NAMED = {
    "customer_id": "customer", "current_customer_id": "customer", "node": "node", "order_id": "order",
    "person_id": "person", "email": "email", "account_id": "record_id",
    # keyed hashes in exports (custseg.governance.export): still personal data, erased as well
    "customer_key": "hashed_customer", "email_hash": "hashed_email", "phone_hash": "hashed_phone",
    "account_key": "hashed_record_id",
}
# (source column, record id column): together a record key.
RECORD_PAIRS = (
    ("source", "record_id"), ("source_l", "record_id_l"), ("source_r", "record_id_r"),
    ("customer_source", "customer_ref"),
)
ARRAYS = {"related_ids": "customer"}  # array columns of identifiers
# Free-text columns that may quote a raw record.
TEXT_COLUMNS = ("raw_record",)


@dataclass(frozen=True)
class Probe:
    """One identity column (or pair) of a table: ``kind`` and the ``kind:value`` text of a row."""

    kind: str
    column_names: tuple[str, ...]
    is_array: bool = False

    def keyed(self) -> Column:
        """``kind:value`` (an array of them for an array column)."""
        if self.is_array:
            return F.transform(F.col(self.column_names[0]), lambda v: F.concat(F.lit(f"{self.kind}:"), normalized(v)))
        if len(self.column_names) == 2:
            source, record_id = self.column_names
            value = F.concat(F.col(source), F.lit(":"), F.col(record_id))
        else:
            value = F.col(self.column_names[0])
        return F.concat(F.lit(f"{self.kind}:"), normalized(value))


def key_text(kind: str, value: str) -> str:
    """The plain form of one identifier, as a probe writes it."""
    return f"{kind}:{str(value).strip().lower()}"


def probes(spec: TableSpec) -> list[Probe]:
    """Every identity column of ``spec``; empty when the table holds no identifier."""
    names = {c.name for c in spec.columns}
    found: list[Probe] = []
    paired: set[str] = set()
    for source, record_id in RECORD_PAIRS:
        if source in names and record_id in names:
            found.append(Probe("record", (source, record_id)))
            paired.add(record_id)
    found += [Probe(kind, (name,)) for name, kind in NAMED.items() if name in names and name not in paired]
    found += [Probe(kind, (name,), is_array=True) for name, kind in ARRAYS.items() if name in names]
    if spec.layer == "bronze":
        found += _bronze_probes(spec, names, paired)
    return found


def _bronze_probes(spec: TableSpec, names: set[str], paired: set[str]) -> list[Probe]:
    """A bronze row is the raw record ``<table>:<primary key>``; a lone reference to a
    customer record (customer_ref) matches any source's record id."""
    extra: list[Probe] = []
    if len(spec.primary_key) == 1 and spec.primary_key[0] not in NAMED:
        extra.append(_ConstantSourceProbe("record", (spec.primary_key[0],), source_name=spec.name))
    if "customer_ref" in names and "customer_ref" not in paired:
        extra.append(Probe("record_id", ("customer_ref",)))
    extra += [Probe("email", (c.name,)) for c in spec.columns if "email" in c.name and c.name != "email"]
    return extra


@dataclass(frozen=True)
class _ConstantSourceProbe(Probe):
    """A record key whose source is the table itself (a bronze table's primary key)."""

    source_name: str = ""

    def keyed(self) -> Column:
        value = F.concat(F.lit(f"{self.source_name}:"), F.col(self.column_names[0]))
        return F.concat(F.lit(f"{self.kind}:"), normalized(value))


def text_columns(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns if c.name in TEXT_COLUMNS]


def matches_plain(table_probes: Iterable[Probe], keys: set[str]) -> Column | None:
    """True for a row whose identifiers include one of ``keys`` (plain ``kind:value`` texts)."""
    return _any_match(table_probes, sorted(keys), lambda c: c)


def _any_match(
    table_probes: Iterable[Probe], values: list[str], transform: Callable[[Column], Column]
) -> Column | None:
    conditions: list[Column] = []
    for probe in table_probes:
        keyed = probe.keyed()
        if probe.is_array:
            hashed = F.transform(keyed, transform)
            conditions.append(F.arrays_overlap(hashed, F.array(*[F.lit(v) for v in values])))
        else:
            conditions.append(transform(keyed).isin(values))
    if not conditions or not values:
        return None
    result = conditions[0]
    for condition in conditions[1:]:
        result = result | F.coalesce(condition, F.lit(False))
    return F.coalesce(result, F.lit(False))
