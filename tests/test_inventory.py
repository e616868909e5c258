"""The source inventory and the data dictionary are generated from declarations and kept in step."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from custseg import tables
from custseg.config import Config
from custseg.inventory import data_dictionary, sources_table
from custseg.tables import TableSpec


def test_committed_data_dictionary_matches_the_declarations(base_config: Config, project_dir: Path) -> None:
    committed = (project_dir / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert committed == data_dictionary(base_config), "run: custseg data-dictionary --output docs/data_dictionary.md"


def test_every_declared_table_and_column_is_described(base_config: Config) -> None:
    text = data_dictionary(base_config)
    for heading in ("## bronze/crm_customers", "## silver/customer_records", "## gold/customer_segments",
                    "## ops/rejects", "## ops/data_audit", "## ops/validation_results"):
        assert heading in text
    assert "| cart_abandonment_rate | `double` | yes |" in text
    assert "| source_line | `bigint` | no | 1-based line (or row) number in that file |" in text


def test_sources_inventory_lists_keys_pii_refresh_and_kpis(base_config: Config) -> None:
    text = sources_table(base_config)
    assert "crm_customers  (csv, 15 columns)" in text
    assert "  primary key: order_id, line_no" in text
    assert "  PII:         first_name, last_name, email, phone, birth_date, street, postcode" in text
    assert "  refresh:     streaming, landed every 15 minutes" in text
    assert "  KPIs:        revenue; orders; average order value; return rate" in text


def test_every_table_a_layer_module_declares_is_in_its_tables_list() -> None:
    modules = (tables.act, tables.gold, tables.governance, tables.ops, tables.silver, tables.stream, tables.truth)
    for module in modules:
        declared = [value for value in vars(module).values() if isinstance(value, TableSpec)]
        assert declared and set(declared) == set(module.TABLES), module.__name__
    assert len(tables.built_in()) == sum(len(module.TABLES) for module in modules)


@pytest.mark.parametrize(("extra", "message"), [
    (dataclasses.replace(tables.truth.TRUTH_PERSONS, primary_key=("nobody",)),
     r"table truth_persons: bad declaration \(undeclared keys \['nobody'\] or repeated columns\)"),
    (dataclasses.replace(tables.truth.TRUTH_PERSONS, description="another"),
     "table truth_persons declared twice with different contents"),
])
def test_a_bad_declaration_is_refused_when_the_tables_are_collected(
    monkeypatch: pytest.MonkeyPatch, extra: TableSpec, message: str
) -> None:
    monkeypatch.setattr(tables.truth, "TABLES", (*tables.truth.TABLES, extra))
    tables.built_in.cache_clear()
    try:
        with pytest.raises(ValueError, match=message):
            tables.built_in()
    finally:
        monkeypatch.undo()
        tables.built_in.cache_clear()
    assert tables.truth.TRUTH_PERSONS in tables.built_in()
