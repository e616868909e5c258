"""Right to erasure: a generated person erased from every table, kept out of later runs, and gone
from every data file after vacuum."""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.errors import EnvironmentProblem, InputDataError
from custseg.governance.erasure import PersonKeys, parse_subject
from custseg.governance.keys import hmac_text
from custseg.governance.subjects import matches_plain, probes
from custseg.jobs import clean, erase, ingest, resolve
from custseg.runtime import JobResult, table_store
from custseg.tables.stream import ACTIVATIONS
from custseg.tools import vacuum_tables
from tests.conftest import config_at
from tests.pii_scan import find_in_current_versions, find_in_data_files

KEY = "erasure-test-key-0123456789"
Pipeline = tuple[Config, list[JobResult]]
Erased = tuple[Config, str, list[object], JobResult]


@pytest.fixture(scope="module")
def key_env() -> Iterator[None]:
    before = os.environ.get("CUSTSEG_PRIVACY_KEY")
    os.environ["CUSTSEG_PRIVACY_KEY"] = KEY
    yield
    if before is None:
        os.environ.pop("CUSTSEG_PRIVACY_KEY", None)
    else:
        os.environ["CUSTSEG_PRIVACY_KEY"] = before


def _person(spark: SparkSession, config: Config) -> tuple[str, list[object]]:
    """An email of a generated person with CRM and web records and orders, and all their identifiers."""
    store, catalog = table_store(spark, config), Catalog(config)
    read = lambda name: store.read(catalog.path(name))  # noqa: E731
    crosswalk, records, orders = read("identity_crosswalk"), read("customer_records"), read("orders_clean")
    per_customer = crosswalk.groupBy("customer_id").agg(F.count_distinct("source").alias("sources"))
    bought = (orders.customer_source == crosswalk.source) & (orders.customer_ref == crosswalk.record_id)
    buyers = orders.join(crosswalk, bought, how="inner")
    chosen = (per_customer.filter("sources = 2").join(buyers.select("customer_id").distinct(), "customer_id")
              .orderBy("customer_id").first())
    assert chosen is not None
    customer_id = chosen.customer_id
    mine = crosswalk.filter(F.col("customer_id") == customer_id).join(records, ["source", "record_id"])
    rows = mine.select("source", "record_id", "email", "phone_e164").collect()
    email = next(r.email for r in rows if r.email)
    order_ids = [r.order_id for r in orders.join(
        mine.select(F.col("source").alias("customer_source"), F.col("record_id").alias("customer_ref")),
        ["customer_source", "customer_ref"]).select("order_id").collect()]
    values: list[object] = [customer_id, *order_ids]
    values += [v for r in rows for v in (r.record_id, r.email, r.phone_e164) if v]
    return email, values


@pytest.fixture(scope="module")
def erased(spark: SparkSession, pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory,
           key_env: None) -> Erased:
    shared, _ = pipeline
    root = tmp_path_factory.mktemp("erasure") / "root"
    shutil.copytree(shared.root_dir, root)  # the shared run's tables stay as they are
    config = config_at(shared, root)
    email, values = _person(spark, config)
    result = erase.run(spark, config, [email.upper()])
    return config, email, values, result


def test_erased_person_is_unreadable_in_every_current_version(erased: Erased) -> None:
    config, _, values, result = erased
    assert result.status == "succeeded"
    changed = set(result.output_versions)
    expected = {"crm_customers", "web_accounts", "orders", "order_lines", "events", "customer_records",
                "orders_clean", "order_lines_clean", "events_clean", "identity_crosswalk", "customer_master",
                "customer_features", "customer_segments", "customer_id_map", "match_pairs",
                "resolution_identities", "resolution_block_keys", "truth_records", "truth_persons", "erasure_log"}
    assert expected <= changed, expected - changed
    assert find_in_current_versions(Path(config.warehouse_dir), values) == {}
    assert int(result.metrics["records"]) >= 2 and int(result.metrics["rows_erased"]) > 0


def test_erasure_log_holds_hashes_only(spark: SparkSession, erased: Erased) -> None:
    config, email, values, result = erased
    log_rows = table_store(spark, config).read(Catalog(config).path("erasure_log")).collect()
    assert {r.request_id for r in log_rows} == {result.run_id}
    assert {r.key_kind for r in log_rows} >= {"email", "record", "customer", "order"}
    assert all(len(r.key_hash) == 64 and r.subject_kind == "email" for r in log_rows)
    assert log_rows[0].rows_erased["identity_crosswalk"] >= 2


def test_later_runs_do_not_bring_the_person_back(spark: SparkSession, erased: Erased) -> None:
    config, _, values, _ = erased
    ingested = ingest.run(spark, config)
    erased_rows = sum(int(v.split("/")[0]) - int(v.split("/")[1]) - int(v.split("/")[2])
                      for k, v in ingested.metrics.items() if k.endswith("read_accepted_rejected"))
    assert erased_rows > 0  # the raw files still hold the person; ingest dropped them, and counted them
    clean.run(spark, config)
    resolve.run(spark, dataclasses_replace_incremental(config))
    assert find_in_current_versions(Path(config.warehouse_dir), values) == {}
    accounting = table_store(spark, config).read(Catalog(config).path("ingest_accounting"))
    latest = accounting.filter(F.col("run_id") == ingested.run_id).collect()
    assert sum(r.rows_erased for r in latest) == erased_rows
    assert all(r.rows_read == r.rows_accepted + r.rows_rejected + r.rows_erased for r in latest)


def test_vacuum_removes_the_values_from_every_data_file(spark: SparkSession, erased: Erased) -> None:
    config, _, values, _ = erased
    warehouse = Path(config.warehouse_dir)
    assert find_in_data_files(warehouse, values) != {}  # old versions keep them until vacuum
    vacuum_tables(spark, config, argparse.Namespace(tables=[], retention_hours=0, dry_run=False))
    assert find_in_data_files(warehouse, values) == {}


def test_erase_refuses_unknown_subjects_and_a_missing_key(spark: SparkSession, erased: Erased) -> None:
    config = erased[0]
    with pytest.raises(InputDataError, match="no table holds nobody@example.invalid"):
        erase.run(spark, config, ["nobody@example.invalid"])
    os.environ.pop("CUSTSEG_PRIVACY_KEY")
    try:
        with pytest.raises(EnvironmentProblem, match="CUSTSEG_PRIVACY_KEY"):
            erase.run(spark, config, ["nobody@example.invalid"])
    finally:
        os.environ["CUSTSEG_PRIVACY_KEY"] = KEY


def test_subjects_are_told_apart() -> None:
    sources = ["crm_customers", "web_accounts"]
    assert parse_subject(" Ann@Example.COM ", sources) == ("email", "ann@example.com")
    assert parse_subject("crm_customers:C12", sources) == ("record", "crm_customers:C12")
    assert parse_subject("CUST-00ab", sources) == ("customer", "CUST-00ab")
    assert parse_subject("other:C12", sources) == ("customer", "other:C12")
    with pytest.raises(InputDataError, match="empty --subject"):
        parse_subject("  ", sources)


def test_an_activation_is_found_by_its_accounts_keyed_hash(spark: SparkSession) -> None:
    found = sorted((p.kind, p.column_names) for p in probes(ACTIVATIONS))
    assert found == [("customer", ("customer_id",)), ("hashed_record_id", ("account_key",))]
    key = b"erasure-test-key"
    person = PersonKeys(records={("web_accounts", "W17")})
    person.add_pseudonyms(key)
    # an account no customer was resolved for: its activation holds no customer id to match on
    rows = spark.createDataFrame([(None, hmac_text("w17", key)), (None, hmac_text("w18", key))],
                                 "customer_id string, account_key string")
    condition = matches_plain(probes(ACTIVATIONS), person.plain_keys())
    assert condition is not None
    assert [r.account_key for r in rows.filter(condition).collect()] == [hmac_text("w17", key)]


def test_identity_columns_come_from_the_declarations(pipeline: Pipeline) -> None:
    catalog = Catalog(pipeline[0])
    kinds = {name: sorted((p.kind, p.column_names) for p in probes(catalog.spec(name)))
             for name in ("match_pairs", "crm_customers", "products_clean", "identity_changes", "orders")}
    assert kinds["match_pairs"] == [("record", ("source_l", "record_id_l")), ("record", ("source_r", "record_id_r"))]
    assert kinds["crm_customers"] == [("email", ("email",)), ("record", ("crm_id",))]
    assert kinds["products_clean"] == []  # no identifier: only scanned for quoted values
    assert kinds["identity_changes"] == [("customer", ("customer_id",)), ("customer", ("related_ids",))]
    assert kinds["orders"] == [("order", ("order_id",)), ("record_id", ("customer_ref",))]


def dataclasses_replace_incremental(config: Config) -> Config:
    import dataclasses

    return config.with_overrides(resolve=dataclasses.replace(config.resolve, incremental=True))


def test_a_file_input_to_resolve_loses_erased_rows(spark: SparkSession) -> None:
    from custseg.governance.filters import ErasedFilter
    from custseg.governance.keys import hmac_text

    key = KEY.encode()
    hashes = spark.createDataFrame([(hmac_text("email:ann@example.com", key),), (hmac_text("record_id:r2", key),)],
                                   "key_hash string")
    frame = spark.createDataFrame([("r1", " Ann@Example.com"), ("r2", None), ("r3", "bob@example.com"), ("r4", None)],
                                  "id string, mail string")
    kept = ErasedFilter(hashes, key).drop_erased_columns(frame, {"id": "record_id", "mail": "email"})
    assert sorted(r.id for r in kept.collect()) == ["r3", "r4"]
    assert kept.columns == ["id", "mail"]
    untouched = ErasedFilter(hashes.limit(0), key).drop_erased_columns(frame, {"id": "record_id"})
    assert untouched.count() == 4
