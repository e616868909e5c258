"""Ingest: every bad record is quarantined with file, line and reason; nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import ColumnSpec, Config, SourceSpec
from custseg.errors import InputDataError
from custseg.jobs import ingest
from custseg.runtime import table_store

ORDERS_HEADER = "order_id,qty,price,ordered_at,paid,note"
ORDERS_FILE = [
    ORDERS_HEADER,                                              # 1 header
    "A1,2,9.99,2024-01-02 10:00:00,true,fine",                  # 2 ok
    "A2,two,9.99,2024-01-02 10:00:00,true,bad int",             # 3
    "A3,1,9.99,2024-13-45 10:00:00,false,bad timestamp",        # 4
    ",1,1.00,2024-01-02 10:00:00,true,missing id",              # 5
    "A5,1,1.00,2024-01-02 10:00:00,true,too,many",              # 6
    "A6,1,1.00",                                                # 7
    'A7,1,"unterminated,2024-01-02 10:00:00,true,x',            # 8
    "",                                                         # 9 blank
    "A9,1,123456789.00,2024-01-02 10:00:00,true,overflow",      # 10
    "A10,1,2.50,2024-01-02 10:00:00,maybe,bad boolean",         # 11
    "A11,1,2.50,2024-01-02 10:00:00,,null boolean is fine",     # 12 ok
    'A12,3,,2024-01-02 10:00:00,false,"quoted, comma"',         # 13 ok
    "A13,x,2.50,not a date,true,two problems",                  # 14
]
EXPECTED_ORDER_REJECTS = {
    ("orders-1.csv", 3): "qty: 'two' is not a valid int",
    ("orders-1.csv", 4): "ordered_at: '2024-13-45 10:00:00' is not a valid timestamp in format yyyy-MM-dd HH:mm:ss",
    ("orders-1.csv", 5): "order_id: required value is missing",
    ("orders-1.csv", 6): "malformed CSV record: expected 6 fields (or an unterminated quote)",
    ("orders-1.csv", 7): "malformed CSV record: expected 6 fields (or an unterminated quote)",
    ("orders-1.csv", 8): "malformed CSV record: expected 6 fields (or an unterminated quote)",
    ("orders-1.csv", 9): "blank line",
    ("orders-1.csv", 10): "price: '123456789.00' is not a valid decimal(8,2)",
    ("orders-1.csv", 11): "paid: 'maybe' is not a valid boolean",
    ("orders-1.csv", 14): "qty: 'x' is not a valid int; "
                          "ordered_at: 'not a date' is not a valid timestamp in format yyyy-MM-dd HH:mm:ss",
    ("orders-2.csv", 2): "file header does not match the declared columns: expected "
                         "'order_id,qty,price,ordered_at,paid,note', found 'id,quantity,price'",
    ("orders-3.csv", 3): "not valid UTF-8 text (wrong encoding?)",
}
JSON_FILE = [
    '{"id": "J1", "n": 5, "ts": "2024-01-01T10:00:00Z"}',
    '{"id": "J2", "n": "five"}',
    '{"id": "J3", "n": 1',
    '{"n": 2}',
    '[1, 2, 3]',
    '{"id": "J6", "n": 3, "extra": {"nested": true}}',
]
EXPECTED_JSON_REJECTS = {
    ("events-1.json", 2): "n: 'five' is not a valid long",
    ("events-1.json", 3): "malformed JSON (not one complete object per line)",
    ("events-1.json", 4): "id: required value is missing",
    ("events-1.json", 5): "malformed JSON (not one complete object per line)",
}


def _sources(root: Path, orders_limit: float = 1.0) -> dict[str, SourceSpec]:
    orders = SourceSpec(
        format="csv", path=str(root / "orders" / "*.csv"), primary_key=["order_id"], options={"header": "true"},
        max_reject_rate=orders_limit,
        columns=[
            ColumnSpec("order_id", "string", required=True), ColumnSpec("qty", "int", required=True),
            ColumnSpec("price", "decimal(8,2)"), ColumnSpec("ordered_at", "timestamp", format="yyyy-MM-dd HH:mm:ss"),
            ColumnSpec("paid", "boolean"), ColumnSpec("note", "string"),
        ],
    )
    events = SourceSpec(
        format="json", path=str(root / "events" / "*.json"), primary_key=["id"], max_reject_rate=1.0,
        columns=[ColumnSpec("id", "string", required=True), ColumnSpec("n", "long"), ColumnSpec("ts", "timestamp")],
    )
    items = SourceSpec(
        format="parquet", path=str(root / "items" / "*.parquet"), primary_key=["sku"], max_reject_rate=1.0,
        columns=[ColumnSpec("sku", "string", required=True), ColumnSpec("weight", "double")],
    )
    return {"shop_orders": orders, "shop_events": events, "shop_items": items}


@pytest.fixture
def raw(spark: SparkSession, tmp_path: Path) -> Path:
    root = tmp_path / "incoming"
    (root / "orders").mkdir(parents=True)
    (root / "orders" / "orders-1.csv").write_text("\n".join(ORDERS_FILE) + "\n", encoding="utf-8")
    (root / "orders" / "orders-2.csv").write_text("id,quantity,price\nX1,1,2.00\n", encoding="utf-8")
    (root / "orders" / "orders-3.csv").write_bytes(
        ("\ufeff" + ORDERS_HEADER + "\r\nB1,1,1.00,2024-01-02 10:00:00,true,crlf and bom\r\n").encode("utf-8")
        + "B2,1,1.00,2024-01-02 10:00:00,true,café\r\n".encode("latin-1")
        + b"C1,1,1.00,2024-01-02 10:00:00,true,no final newline"
    )
    (root / "events").mkdir()
    (root / "events" / "events-1.json").write_text("\n".join(JSON_FILE) + "\n", encoding="utf-8")
    (root / "items").mkdir()
    items = spark.createDataFrame([("S1", 1.5), ("S2", None)], "sku string, weight double")
    items.coalesce(1).write.parquet(str(root / "tmp"))
    next((root / "tmp").glob("*.parquet")).rename(root / "items" / "good.parquet")
    (root / "items" / "broken.parquet").write_bytes(b"PAR1 this is not really parquet")
    return root


def _rejects(spark: SparkSession, config: Config, source: str) -> dict[tuple[str, int], str]:
    table = table_store(spark, config).read(Catalog(config).path("rejects")).filter(f"source = '{source}'")
    return {(Path(r.source_file).name, r.source_line): r.reason for r in table.collect()}


def test_every_bad_row_is_quarantined_with_its_reason(spark: SparkSession, config: Config, raw: Path) -> None:
    config = config.with_overrides(sources=_sources(raw))
    result = ingest.run(spark, config)
    store, catalog = table_store(spark, config), Catalog(config)

    assert _rejects(spark, config, "shop_orders") == EXPECTED_ORDER_REJECTS
    assert _rejects(spark, config, "shop_events") == EXPECTED_JSON_REJECTS
    items = _rejects(spark, config, "shop_items")
    assert list(items) == [("broken.parquet", 0)]
    assert items[("broken.parquet", 0)].startswith("unreadable Parquet file: ")
    assert "is not a Parquet file" in items[("broken.parquet", 0)]

    accepted = {r.order_id: r for r in store.read(catalog.path("shop_orders")).collect()}
    assert sorted(accepted) == ["A1", "A11", "A12", "B1", "C1"]
    assert accepted["A12"].note == "quoted, comma" and accepted["A12"].price is None
    assert accepted["A11"].paid is None and accepted["B1"].note == "crlf and bom"
    assert (Path(accepted["A1"].source_file).name, accepted["A1"].source_line) == ("orders-1.csv", 2)
    assert accepted["B1"].source_line == 2 and accepted["A1"].ingest_run_id == result.run_id
    assert sorted(r.id for r in store.read(catalog.path("shop_events")).collect()) == ["J1", "J6"]
    assert sorted(r.sku for r in store.read(catalog.path("shop_items")).collect()) == ["S1", "S2"]

    accounting = {r.source: r for r in store.read(catalog.path("ingest_accounting")).collect()}
    orders = accounting["shop_orders"]
    for row in accounting.values():
        assert row.rows_read == row.rows_accepted + row.rows_rejected
    # 13 data lines in orders-1, 1 in orders-2, 3 in orders-3 (headers are not records)
    assert (orders.files, orders.rows_read, orders.rows_accepted, orders.rows_rejected) == (3, 17, 5, 12)
    assert (accounting["shop_events"].rows_read, accounting["shop_events"].rows_rejected) == (6, 4)
    assert (accounting["shop_items"].rows_read, accounting["shop_items"].rows_rejected) == (3, 1)
    assert result.metrics["shop_orders.read_accepted_rejected"] == "17/5/12"


def test_reject_rate_over_the_limit_publishes_nothing(spark: SparkSession, config: Config, raw: Path) -> None:
    config = config.with_overrides(sources=_sources(raw, orders_limit=0.2))
    with pytest.raises(InputDataError, match=r"source shop_orders: 12 of 17 rows rejected \(70\.59% > limit 20\.00%\)"):
        ingest.run(spark, config)
    store, catalog = table_store(spark, config), Catalog(config)
    for table in ("shop_orders", "shop_events", "shop_items", "rejects", "ingest_accounting"):
        assert not store.exists(catalog.path(table)), table
    runs = store.read(catalog.path("job_runs")).collect()
    assert [(r.job, r.status) for r in runs] == [("ingest", "failed")]
    assert runs[0].metrics["shop_orders.read_accepted_rejected"] == "17/5/12"


def test_a_source_without_files_is_named(spark: SparkSession, config: Config, tmp_path: Path) -> None:
    config = config.with_overrides(sources=_sources(tmp_path / "empty"))
    with pytest.raises(InputDataError, match=r"source shop_orders: no files match .*empty/orders/\*\.csv"):
        ingest.run(spark, config)
