"""The source inventory and the data dictionary are generated from declarations and kept in step."""

from __future__ import annotations

from pathlib import Path

from custseg.config import Config
from custseg.inventory import data_dictionary, sources_table


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
