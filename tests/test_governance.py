"""Lineage, consent, the pseudonymized export, and the scheduled refresh."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.errors import EnvironmentProblem, InputDataError
from custseg.governance.consent import latest_states
from custseg.governance.keys import hmac_column
from custseg.governance.lineage import lineage_tree, render
from custseg.jobs import consent, erase, export
from custseg.runtime import JobResult, table_store
from custseg.tables.governance import CONSENT
from tests.conftest import PROJECT, config_at
from tests.pii_scan import find_in_current_versions

KEY = "governance-test-key-0123456789"


def _inputs(tree: dict, found: dict[str, dict]) -> dict[str, dict]:  # type: ignore[type-arg]
    found.setdefault(tree["table"], tree)
    for child in tree.get("inputs", []):
        _inputs(child, found)
    return found


def test_lineage_reaches_the_raw_files(spark: SparkSession, pipeline: tuple[Config, list[JobResult]]) -> None:
    config, results = pipeline
    tree = lineage_tree(spark, config, "customer_segments")
    by_job = {r.job: r for r in results}
    assert (tree["job"], tree["run_id"], tree["run"]["status"]) == ("segment", by_job["segment"].run_id, "succeeded")
    nodes = _inputs(tree, {})
    assert {"customer_features", "identity_crosswalk", "customer_records", "crm_customers", "orders"} <= set(nodes)
    assert nodes["customer_features"]["version"] == by_job["segment"].input_versions["customer_features"]
    raw = nodes["crm_customers"]["raw_files"]
    assert raw and all(f.endswith(".csv") and "/raw/crm_customers/" in f for f in raw)
    assert nodes["crm_customers"]["run_id"] == by_job["ingest"].run_id
    json.loads(json.dumps(tree, default=str))
    text = render(tree)
    assert text.splitlines()[0].startswith("customer_segments v0 <- segment run ")
    assert "raw files (" in text
    with pytest.raises(InputDataError, match="has versions 0 to"):
        lineage_tree(spark, config, "customer_segments", version=99)


@pytest.fixture(scope="module")
def key_env() -> Iterator[None]:
    before = os.environ.get("CUSTSEG_PRIVACY_KEY")
    os.environ["CUSTSEG_PRIVACY_KEY"] = KEY
    yield
    os.environ.pop("CUSTSEG_PRIVACY_KEY", None)
    if before is not None:
        os.environ["CUSTSEG_PRIVACY_KEY"] = before


@pytest.fixture(scope="module")
def exported(spark: SparkSession, pipeline: tuple[Config, list[JobResult]], tmp_path_factory: pytest.TempPathFactory,
             key_env: None) -> Config:
    shared, _ = pipeline
    root = tmp_path_factory.mktemp("governance") / "root"
    shutil.copytree(shared.root_dir, root)
    config = config_at(shared, root)
    consent.run(spark, config)
    return config


def _read(spark: SparkSession, config: Config, name: str):  # type: ignore[no-untyped-def]
    return table_store(spark, config).read(Catalog(config).path(name))


def test_consent_follows_the_sources_and_recorded_changes(spark: SparkSession, exported: Config) -> None:
    config = exported
    built = _read(spark, config, "consent")
    records = _read(spark, config, "customer_records").filter(F.col("opt_in").isNotNull()).count()
    channels = {r.channel for r in built.select("channel").distinct().collect()}
    assert built.count() == records * len(channels) and channels == set(config.privacy.opt_in_channels)
    opted_in = built.filter("status = 'opt_in'").orderBy("customer_id").first().customer_id
    consent.record(spark, config, opted_in, "email", "opt_out", "call-centre")
    consent.run(spark, config)  # a rebuild keeps what a person recorded
    kept = _read(spark, config, "consent").filter(F.col("origin") == "recorded:call-centre").collect()
    assert [(r.customer_id, r.status) for r in kept] == [(opted_in, "opt_out")]
    with pytest.raises(InputDataError, match="channel 'fax' is not one of"):
        consent.record(spark, config, opted_in, "fax", "opt_in", "cli")
    with pytest.raises(InputDataError, match="no customer 'CUST-none'"):
        consent.record(spark, config, "CUST-none", "email", "opt_in", "cli")


def test_a_source_opt_in_never_overrides_a_recorded_opt_out(spark: SparkSession) -> None:
    def day(d: int) -> dt.datetime:
        return dt.datetime(2026, 1, d)

    events = spark.createDataFrame([
        ("A", "email", "opt_in", day(1), "crm:1", "r"), ("A", "email", "opt_out", day(2), "recorded:cc", "r"),
        ("A", "email", "opt_in", day(3), "crm:1", "r"),  # the CRM record edited after the withdrawal
        ("B", "email", "opt_out", day(2), "recorded:cc", "r"), ("B", "email", "opt_in", day(4), "recorded:web", "r"),
        ("B", "email", "opt_in", day(1), "crm:2", "r"),  # a person opted in again
        ("C", "email", "opt_in", day(1), "recorded:web", "r"), ("C", "email", "opt_out", day(3), "crm:3", "r"),
        ("D", "email", "opt_in", day(1), "crm:4", "r"), ("D", "email", "opt_out", day(1), "crm:5", "r"),  # a tie
        ("E", "email", "opt_in", day(1), "recorded:web", "r"), ("E", "email", "opt_out", day(1), "crm:6", "r"),
        ("F", "email", "opt_in", day(5), "crm:7", "r"), ("F", "sms", "opt_out", day(6), "recorded:cc", "r"),
    ], CONSENT.schema)
    states = {(r.customer_id, r.channel): r.status for r in latest_states(events).collect()}
    assert states == {("A", "email"): "opt_out", ("B", "email"): "opt_in", ("C", "email"): "opt_out",
                      ("D", "email"): "opt_out", ("E", "email"): "opt_in", ("F", "email"): "opt_in",
                      ("F", "sms"): "opt_out"}  # E: a recorded event wins a tie with a source one


def test_export_holds_consented_customers_with_hashed_identifiers(spark: SparkSession, exported: Config) -> None:
    config = exported
    latest = (_read(spark, config, "consent").filter("channel = 'email'")
              .groupBy("customer_id")
              .agg(F.max_by("status", F.struct("recorded_at", F.col("origin").startswith("recorded:")))
                   .alias("status")))
    segmented = _read(spark, config, "customer_segments").select("customer_id")
    opted_in = sorted(r.customer_id
                      for r in latest.filter("status = 'opt_in'").join(segmented, "customer_id").collect())
    # withdrawn after the consent table was built, and not rebuilt since: the export must still see it
    withdrawn = opted_in[-1]
    consent.record(spark, config, withdrawn, "email", "opt_out", "preference-centre")
    result = export.run(spark, config)
    rows = _read(spark, config, "segment_export").collect()
    consented = set(opted_in) - {withdrawn}
    expected = {hmac.new(KEY.encode(), c.lower().encode(), hashlib.sha256).hexdigest() for c in consented}
    assert {r.customer_key for r in rows} == expected and result.rows_out["segment_export"] == len(expected)
    assert sum(r.email_hash is not None for r in rows) > 0.9 * len(rows)
    # No raw PII of any generated person in the tables meant for activation.
    persons = _read(spark, config, "truth_persons").collect()
    values = {v for p in persons for v in (p.email, p.phone_e164, p.street, f"{p.first_name} {p.last_name}") if v}
    masters = _read(spark, config, "customer_master").select("email", "phone_e164").collect()
    values |= {v for m in masters for v in m if v}
    warehouse = Path(config.warehouse_dir)
    scanned = Path(config.root_dir) / "scan"
    for table in ("segment_export", "customer_segments"):
        shutil.copytree(next(warehouse.glob(f"*/{table}")), scanned / "gold" / table)
    assert find_in_current_versions(scanned, values) == {}
    # An erased customer leaves the export too: its pseudonyms are personal data.
    victim = sorted(consented)[0]
    erase.run(spark, config, [victim])
    after = {r.customer_key for r in _read(spark, config, "segment_export").collect()}
    assert after == expected - {hmac.new(KEY.encode(), victim.lower().encode(), hashlib.sha256).hexdigest()}


def test_hmac_matches_the_standard_and_a_missing_key_is_one_error(spark: SparkSession, exported: Config) -> None:
    key = b"k" * 70  # longer than a block: hashed first, as RFC 2104 says
    for text in ("ann@example.com", "", "ünïcode"):
        got = spark.range(1).select(hmac_column(F.lit(text), key).alias("h")).first().h
        assert got == hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    assert spark.range(1).select(hmac_column(F.lit(None).cast("string"), key).alias("h")).first().h is None
    os.environ.pop("CUSTSEG_PRIVACY_KEY")
    try:
        with pytest.raises(EnvironmentProblem, match="no pseudonymization key: set the environment variable"):
            export.run(spark, exported)
    finally:
        os.environ["CUSTSEG_PRIVACY_KEY"] = KEY


def test_spark_submit_script_takes_spark_submits_argument_order() -> None:
    done = subprocess.run([str(PROJECT / "spark-submit.sh"), "--master", "local[1]", "--name", "n", "--conf", "a=b",
                           "--verbose", str(PROJECT / "jobs" / "nosuchjob.py"), "--env", "local"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown job 'nosuchjob'" in done.stderr


def test_the_dags_load_in_airflow() -> None:
    python = PROJECT / ".venv-airflow" / "bin" / "python"
    if not python.exists():
        pytest.skip("Airflow's own virtualenv is missing: `make airflow-venv` creates it")
    probe = ("import json, sys; from airflow.models import DagBag; bag = DagBag(sys.argv[1]); "
             "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()}, "
             "'dags': {d: sorted(t.task_id for t in bag.dags[d].tasks) for d in bag.dags}, "
             "'retries': sorted({t.retries for d in bag.dags.values() for t in d.tasks})}))")
    env = {**os.environ, "AIRFLOW_HOME": str(PROJECT / ".venv-airflow" / "home"), "CUSTSEG_HOME": str(PROJECT),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "CUSTSEG_ALERT_EMAILS": "oncall@example.com"}
    done = subprocess.run([str(python), "-c", probe, str(PROJECT / "dags")], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    hourly = ["assign", "clean", "export", "features", "ingest", "resolve"]
    assert loaded["dags"]["custseg_hourly_incremental"] == hourly
    assert "segment" in loaded["dags"]["custseg_daily_refresh"] and min(loaded["retries"]) >= 2
