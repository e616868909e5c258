"""Every table of one configuration: the built-in declarations of ``custseg.tables`` and a bronze
table per source of ``conf/sources.yaml``, each with its path under the warehouse.

A table's declared columns are its contract: ``conform`` puts a DataFrame into the declared
order and refuses missing, extra or retyped columns by name, so a schema change is always a
deliberate edit to a declaration. The data dictionary in the docs is generated from them.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from custseg import tables
from custseg.config import Config, SourceSpec
from custseg.config.resolved import join_path
from custseg.errors import TableError
from custseg.tables import BRONZE_LINEAGE, Column, TableSpec

__all__ = ["Catalog", "Column", "TableSpec", "bronze_spec", "conform"]


def bronze_spec(name: str, source: SourceSpec) -> TableSpec:
    declared = tuple(
        Column(c.name, c.type, c.description or "", nullable=not c.required) for c in source.columns
    )
    return TableSpec(
        name=name, layer="bronze", description=source.description or f"Source {name} as ingested",
        columns=declared + BRONZE_LINEAGE, primary_key=tuple(source.primary_key),
    )


class Catalog:
    """Table names resolved to specs and paths for one configuration."""

    def __init__(self, config: Config):
        self.warehouse = config.warehouse_dir
        self._specs = {spec.name: spec for spec in tables.built_in()}
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

