"""The audit on a small fixture: every figure in data_audit and in the HTML report matches a
hand count done here in plain Python."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import ColumnSpec, Config, SourceSpec
from custseg.config.model import QualitySettings, RuleSpec
from custseg.jobs import audit
from custseg.runtime import JobContext, run_job, table_store

PRICES = [1, 2, 2, 3, 3, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12, -4, 1000, None, None]
BRANDS = ["Acme", "Acme", "Acme", "Globex", None, "Globex", "Acme", None, "Initech", "Acme",
          "Acme", "Globex", "Acme", "Acme", None, "Acme", "Globex", "Acme", "Acme", "Initech"]
IDS = [f"P{i}" for i in range(19)] + ["P3"]        # P3 twice: two rows with a duplicated key


def _products_source() -> dict[str, SourceSpec]:
    return {"products": SourceSpec(format="parquet", path="unused/*.parquet", primary_key=["product_id"], columns=[
        ColumnSpec("product_id", "string", required=True), ColumnSpec("product_name"),
        ColumnSpec("category", required=True),
        ColumnSpec("brand"), ColumnSpec("list_price_usd", "decimal(12,2)"),
    ])}


NEGATIVE_PRICE = RuleSpec(check="range", column="list_price_usd", min="0", severity="warn", max_share=1.0)


@pytest.fixture
def audited(spark: SparkSession, config: Config):  # type: ignore[no-untyped-def]
    return _audit_products(spark, config, [NEGATIVE_PRICE])


def _audit_products(spark: SparkSession, config: Config, rules: list[RuleSpec]):  # type: ignore[no-untyped-def]
    config = config.with_overrides(
        sources=_products_source(),
        rules={"products": rules},
        quality=QualitySettings(audit_tables=["products", "customer_features"], histogram_bins=4, top_values=2),
    )
    rows = [(pid, f"item {i}", "home" if i % 3 else "toys", brand, None if price is None else Decimal(price),
             "f.parquet", i + 1, "r0")
            for i, (pid, brand, price) in enumerate(zip(IDS, BRANDS, PRICES, strict=True))]
    frame = spark.createDataFrame(rows, Catalog(config).spec("products").schema)
    run_job(spark, config, "setup", lambda ctx: ctx.write("products", frame))
    result = audit.run(spark, config)
    return config, result


def _hand_counts() -> dict[str, object]:
    prices = [p for p in PRICES if p is not None]
    mean, stdev = statistics.mean(prices), statistics.stdev(prices)
    ordered = sorted(prices)
    # percentile_approx: the smallest observed value with at least p * n values at or below it
    q1, median, q3 = (ordered[math.ceil(p * len(ordered)) - 1] for p in (0.25, 0.5, 0.75))
    iqr = q3 - q1
    return {
        "price_nulls": PRICES.count(None), "brand_nulls": BRANDS.count(None), "mean": mean, "stdev": stdev,
        "quartiles": (q1, median, q3),
        "iqr_outliers": sum(p < q1 - 1.5 * iqr or p > q3 + 1.5 * iqr for p in prices),
        "z_outliers": sum(abs(p - mean) / stdev > 3 for p in prices),
        "brand_top": [("Acme", BRANDS.count("Acme")), ("Globex", BRANDS.count("Globex"))],
        "histogram": [sum(-4 + i * 251 <= p < -4 + (i + 1) * 251 or (i == 3 and p == 1000) for p in prices)
                      for i in range(4)],
        "negative": sum(p < 0 for p in prices),
    }


def test_audit_table_matches_hand_counts(spark: SparkSession, audited) -> None:  # type: ignore[no-untyped-def]
    config, result = audited
    hand = _hand_counts()
    rows = {r.column_name: r for r in table_store(spark, config).read(Catalog(config).path("data_audit")).collect()}
    table = rows["*"]
    assert (table.rows, table.duplicate_key_rows, table.rule_violations) == (20, 2, hand["negative"])
    price = rows["list_price_usd"]
    assert (price.nulls, price.rows, price.min_value, price.max_value) == (hand["price_nulls"], 20, "-4.00", "1000.00")
    assert price.null_share == pytest.approx(0.1)
    assert price.mean == pytest.approx(hand["mean"]) and price.stddev == pytest.approx(hand["stdev"])
    assert (price.q1, price.median, price.q3) == hand["quartiles"]
    assert (price.iqr_outliers, price.z_outliers) == (hand["iqr_outliers"], hand["z_outliers"]) == (1, 1)
    assert [b["count"] for b in price.histogram] == hand["histogram"]
    assert price.rule_violations == hand["negative"]
    brand = rows["brand"]
    assert brand.nulls == hand["brand_nulls"] and brand.approx_distinct == 3
    assert [(t["value"], t["count"]) for t in brand.top_values] == hand["brand_top"]
    product_ids = rows["product_id"]
    assert product_ids.approx_distinct == 19
    assert [(t["value"], t["count"]) for t in product_ids.top_values] == [("P3", 2), ("P0", 1)]  # ties by value
    assert result.metrics["skipped.customer_features"] == "not written yet"
    assert not {"source_file", "source_line", "ingest_run_id"} & set(rows)  # lineage, not data: not profiled
    assert {"product_id", "brand", "list_price_usd"} <= set(rows)


class _Figures(HTMLParser):
    """Collects data-metric / data-value figures per table and column from the report."""

    def __init__(self) -> None:
        super().__init__()
        self.table: str | None = None
        self.column: str | None = None
        self.figures: dict[tuple[str | None, str | None, str], str] = {}
        self.bins: dict[tuple[str | None, str | None], list[int]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "data-table" in attributes:
            self.table, self.column = attributes["data-table"], None
        if tag in ("tr", "figure") and "data-column" in attributes:
            self.column = attributes["data-column"]
        if "data-metric" in attributes and attributes.get("data-value") is not None:
            self.figures[(self.table, self.column, attributes["data-metric"])] = attributes["data-value"]  # type: ignore[index, assignment]
        if tag == "rect" and "bin" in (attributes.get("class") or ""):
            self.bins.setdefault((self.table, self.column), []).append(int(attributes["data-value"]))  # type: ignore[arg-type]
        if tag == "rect" and "null-bar" in (attributes.get("class") or ""):
            self.figures[(self.table, attributes["data-column"], "null_bar")] = attributes["data-value"]  # type: ignore[assignment]


def test_a_unique_rule_on_the_primary_key_counts_its_duplicated_rows(
        spark: SparkSession, config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    def counted_again(*_: object) -> int:
        raise AssertionError("the audit counted the key's duplicated rows a second time")

    monkeypatch.setattr(audit, "duplicated_rows", counted_again)  # the unique rule's own count still runs
    key_rule = RuleSpec(check="unique", columns=["product_id"], severity="warn", max_share=1.0)
    config, _ = _audit_products(spark, config, [NEGATIVE_PRICE, key_rule])
    rows = {r.column_name: r for r in table_store(spark, config).read(Catalog(config).path("data_audit"))
            .filter("table_name = 'products'").collect()}
    # The key's two rows of P3 are both the rule's violations and the table's duplicated key rows.
    assert (rows["*"].duplicate_key_rows, rows["*"].rule_violations) == (2, 2 + _hand_counts()["negative"])


def test_html_report_renders_the_same_figures(spark: SparkSession, audited) -> None:  # type: ignore[no-untyped-def]
    config, result = audited
    hand = _hand_counts()
    report = Path(result.metrics["report"])
    assert report.is_file() and (report.parent / "latest.html").read_text() == report.read_text()
    page = _Figures()
    page.feed(report.read_text(encoding="utf-8"))
    assert page.figures[("products", None, "rows")] == "20"
    assert page.figures[("products", None, "duplicate_key_rows")] == "2"
    assert page.figures[("products", None, "rule_violations")] == str(hand["negative"])
    assert page.figures[("products", "list_price_usd", "nulls")] == str(hand["price_nulls"])
    assert page.figures[("products", "brand", "nulls")] == str(hand["brand_nulls"])
    assert float(page.figures[("products", "brand", "null_bar")]) == pytest.approx(hand["brand_nulls"] / 20)
    assert page.figures[("products", "list_price_usd", "iqr_outliers")] == str(hand["iqr_outliers"])
    assert page.bins[("products", "list_price_usd")] == hand["histogram"]
    assert report.read_text().startswith("<!doctype html>") and "<script" not in report.read_text()


def test_failed_audit_publishes_no_report(spark: SparkSession, config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    config = config.with_overrides(quality=QualitySettings(audit_tables=["cleaning_log"]))
    run_job(spark, config, "setup", lambda ctx: ctx.write("cleaning_log", spark.createDataFrame(
        [("r", "t", "c", "rule", 1, 2)], Catalog(config).spec("cleaning_log").schema)))

    def broken(ctx: JobContext, name: str):  # type: ignore[no-untyped-def]
        raise RuntimeError("profile failed")

    monkeypatch.setattr(audit, "_audit_table", broken)
    with pytest.raises(RuntimeError):
        audit.run(spark, config)
    reports = Path(config.reports_dir) / "audit"
    assert not reports.exists() or not list(reports.glob("*.html"))
