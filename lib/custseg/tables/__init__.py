"""Table declarations, one module per layer, each listing its tables in ``TABLES``.

Importing a module declares nothing anywhere: ``built_in`` collects the lists, and the catalog
adds the bronze tables of the configured sources to them.
"""

from __future__ import annotations

from functools import cache

from custseg.tables import act, gold, governance, ops, silver, stream, truth
from custseg.tables.spec import BRONZE_LINEAGE, Column, Layer, TableSpec, columns

__all__ = ["BRONZE_LINEAGE", "Column", "Layer", "TableSpec", "built_in", "columns"]

_MODULES = (act, gold, governance, ops, silver, stream, truth)


@cache
def built_in() -> tuple[TableSpec, ...]:
    """Every table declared in the layer modules, each checked once.

    Raises:
        ValueError: a declaration names keys it does not declare, repeats a column, or a name is
            declared twice with different contents.
    """
    specs: dict[str, TableSpec] = {}
    for spec in (spec for module in _MODULES for spec in module.TABLES):
        names = [c.name for c in spec.columns]
        undeclared = [c for c in (*spec.partition_by, *spec.primary_key) if c not in names]
        if undeclared or len(set(names)) != len(names):
            raise ValueError(f"table {spec.name}: bad declaration (undeclared keys {undeclared} or repeated columns)")
        if spec.name in specs and specs[spec.name] != spec:
            raise ValueError(f"table {spec.name} declared twice with different contents")
        specs[spec.name] = spec
    return tuple(specs.values())
