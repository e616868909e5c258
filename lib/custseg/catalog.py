"""Every table the suite writes: name, layer, columns with types and meaning, partitioning.

A table's declared columns are its contract: ``conform`` puts a DataFrame into the declared
order and refuses missing, extra or retyped columns by name, so a schema change is always a
deliberate edit here. Bronze tables take their columns from ``conf/sources.yaml``. The data
dictionary in the docs is generated from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from custseg.config import Config, SourceSpec
from custseg.config.resolved import join_path
from custseg.errors import TableError

Layer = Literal["bronze", "silver", "gold", "truth", "ops"]


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Spark SQL DDL type
    description: str
    nullable: bool = True

    @property
    def data_type(self) -> T.DataType:
        return T._parse_datatype_string(self.type)


@dataclass(frozen=True)
class TableSpec:
    name: str
    layer: Layer
    description: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()
    primary_key: tuple[str, ...] = ()
    mode: Literal["overwrite", "append"] = "overwrite"

    @property
    def schema(self) -> T.StructType:
        return T.StructType([
            T.StructField(c.name, c.data_type, c.nullable, {"comment": c.description}) for c in self.columns
        ])

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if not c.nullable]


_STATIC: dict[str, TableSpec] = {}


def register(spec: TableSpec) -> TableSpec:
    """Declare a table; stage modules call this at import time."""
    names = [c.name for c in spec.columns]
    undeclared = [c for c in (*spec.partition_by, *spec.primary_key) if c not in names]
    if undeclared or len(set(names)) != len(names):
        raise ValueError(f"table {spec.name}: bad declaration (undeclared keys {undeclared} or repeated columns)")
    if spec.name in _STATIC and _STATIC[spec.name] != spec:
        raise ValueError(f"table {spec.name} declared twice with different contents")
    _STATIC[spec.name] = spec
    return spec


def columns(*rows: tuple[str, str, str] | tuple[str, str, str, bool]) -> tuple[Column, ...]:
    """Compact declaration: (name, type, description[, nullable])."""
    return tuple(Column(*row) for row in rows)


BRONZE_LINEAGE = columns(
    ("source_file", "string", "File the row was read from", False),
    ("source_line", "bigint", "1-based line (or row) number in that file", False),
    ("ingest_run_id", "string", "Run that ingested the row", False),
)


def bronze_spec(name: str, source: SourceSpec) -> TableSpec:
    declared = tuple(
        Column(c.name, c.type, c.description or "", nullable=not c.required) for c in source.columns
    )
    return TableSpec(
        name=name, layer="bronze", description=source.description or f"Source {name} as ingested",
        columns=declared + BRONZE_LINEAGE, primary_key=tuple(source.primary_key),
    )


def declared_columns(sources: dict[str, SourceSpec]) -> dict[str, list[str]]:
    """Column names of every declared table, for checking configuration before Spark starts."""
    _import_declarations()
    tables = {name: [c.name for c in spec.columns] for name, spec in _STATIC.items()}
    for name, source in sources.items():
        tables[name] = [c.name for c in bronze_spec(name, source).columns]
    return tables


class Catalog:
    """Table names resolved to specs and paths for one configuration."""

    def __init__(self, config: Config):
        _import_declarations()
        self.warehouse = config.warehouse_dir
        self._specs = dict(_STATIC)
        for source_name, source in config.sources.items():
            if source_name in self._specs:
                raise TableError(f"source name {source_name!r} clashes with a built-in table name")
            self._specs[source_name] = bronze_spec(source_name, source)

    def spec(self, name: str) -> TableSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise TableError(f"unknown table {name!r}; known tables: {', '.join(sorted(self._specs))}") from None

    def path(self, name: str) -> str:
        spec = self.spec(name)
        return join_path(self.warehouse, spec.layer, spec.name)

    def specs(self) -> list[TableSpec]:
        order = {"bronze": 0, "silver": 1, "gold": 2, "truth": 3, "ops": 4}
        return sorted(self._specs.values(), key=lambda s: (order[s.layer], s.name))


def conform(df: DataFrame, spec: TableSpec) -> DataFrame:
    """``df`` with exactly the declared columns in declared order; TableError names any mismatch."""
    actual = {f.name: f.dataType for f in df.schema.fields}
    declared = {c.name: c.data_type for c in spec.columns}
    problems = []
    missing = [n for n in declared if n not in actual]
    extra = [n for n in actual if n not in declared]
    if missing:
        problems.append(f"missing column(s) {missing}")
    if extra:
        problems.append(f"undeclared column(s) {extra}")
    retyped = [
        f"{n}: declared {declared[n].simpleString()}, got {actual[n].simpleString()}"
        # simpleString ignores nullability, which Spark infers loosely and Delta does not enforce
        for n in declared if n in actual and declared[n].simpleString() != actual[n].simpleString()
    ]
    if retyped:
        problems.append("type mismatch " + "; ".join(retyped))
    if problems:
        raise TableError(f"output for table {spec.name} does not match its declaration: " + "; ".join(problems))
    return df.select(*[df[n] for n in declared])


def _import_declarations() -> None:
    """Import the modules that declare tables, so the registry is complete."""
    import custseg.tables  # noqa: F401
