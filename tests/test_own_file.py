"""Resolve a user's own file, configured as a user would (a YAML file over the shipped settings):
dates in any ISO 8601 form or a given pattern, shipped rules fitted to the mapped roles, and a
sentence, never a traceback, for the inputs that leave nothing to learn or match."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import Config, load_config
from custseg.errors import InputDataError
from custseg.jobs import resolve as resolve_job
from custseg.resolve.identities import prepare_identities
from custseg.runtime import table_store
from tests.conftest import PROJECT


def user_config(tmp_path: Path, csv: str, columns: str, extra: str = "") -> Config:
    """The shipped configuration with a user's YAML file naming ``csv`` and its columns."""
    data = tmp_path / "people.csv"
    data.write_text(csv)
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"resolve:\n  input: {{path: {data}, format: csv}}\n  columns: {columns}\n"
                    f"  u_sample_pairs: 1000\n{extra}")
    return load_config(PROJECT / "conf", "local", [f"storage.root={tmp_path / 'root'}", "spark.shuffle_partitions=2",
                                                   "rules={}"], [mine])


def tables(spark: SparkSession, config: Config, name: str) -> list:  # type: ignore[type-arg]
    return table_store(spark, config).read(Catalog(config).path(name)).collect()


def test_dates_in_iso_8601_basic_format_or_a_given_pattern(spark: SparkSession, tmp_path: Path) -> None:
    frame = spark.createDataFrame([("1", "Al", "19560409", "09.04.1956"), ("2", "Al", "1956-04-09", "9.4.1956"),
                                   ("3", "Al", "", "x")], "id string, name string, dob string, dob_de string")
    iso = user_config(tmp_path, "id\n", "{record_id: id, first_name: name, last_name: name, birth_date: dob}").resolve
    read = {r.record_id: r.birth_date for r in prepare_identities(frame, iso, "f", "US").collect()}
    assert read == {"1": dt.date(1956, 4, 9), "2": dt.date(1956, 4, 9), "3": None}
    given = user_config(tmp_path, "id\n", "{record_id: id, first_name: name, last_name: name, "
                                          "birth_date: {column: dob_de, format: d.M.yyyy}}").resolve
    read = {r.record_id: r.birth_date for r in prepare_identities(frame, given, "f", "US").collect()}
    assert read == {"1": dt.date(1956, 4, 9), "2": dt.date(1956, 4, 9), "3": None}


def test_a_column_that_mostly_fails_to_read_stops_the_job_with_examples(spark: SparkSession, tmp_path: Path) -> None:
    csv = "id,first,last,dob\n1,Ann,Lee,April 9th 56\n2,Ann,Lee,9th of April\n3,Bo,Ray,1970-01-02\n4,Cy,Ng,soon\n"
    config = user_config(tmp_path, csv, "{record_id: id, first_name: first, last_name: last, birth_date: dob}")
    with pytest.raises(InputDataError) as raised:
        resolve_job.run(spark, config)
    assert ("column 'dob' (birth_date): 75% of 4 values could not be read (for example 'April 9th 56', "
            "'9th of April', 'soon'); give its pattern, e.g. resolve.columns.birth_date: "
            "{column: dob, format: dd.MM.yyyy}") in str(raised.value)
    assert not table_store(spark, config).exists(Catalog(config).path("identity_crosswalk"))  # nothing published


def test_an_input_without_records_is_one_sentence(spark: SparkSession, tmp_path: Path) -> None:
    config = user_config(tmp_path, "id,first,last\n", "{record_id: id, first_name: first, last_name: last}")
    with pytest.raises(InputDataError,
                       match=r"people.csv holds no record with a record id \(column 'id'\): nothing to resolve"):
        resolve_job.run(spark, config)


@pytest.mark.heavy
def test_a_single_record_is_a_customer_of_its_own(spark: SparkSession, tmp_path: Path) -> None:
    config = user_config(tmp_path, "id,first,last,dob\n1,Ann,Lee,19800102\n",
                         "{record_id: id, first_name: first, last_name: last, birth_date: dob}")
    result = resolve_job.run(spark, config)
    assert [(r.record_id, r.cluster_size) for r in tables(spark, config, "identity_crosswalk")] == [("1", 1)]
    warnings = json.loads(result.metrics["warnings"])
    assert warnings[-1] == ("blocking found no candidate pairs: every record is a customer of its own (see "
                            "blocking_diagnostics for what each rule found)")
    assert "blocking rule email left out (not mapped: email)" in warnings


@pytest.mark.heavy
def test_an_empty_mapped_column_and_no_pair_above_the_threshold(spark: SparkSession, tmp_path: Path) -> None:
    # Four people, two pairs sharing a phone and nothing else; the email column is empty throughout.
    csv = ("id,first,last,mail,tel\n1,Ann,Lee,,+44 7400 123456\n2,Bob,Kahn,,+44 7400 123456\n"
           "3,Cy,Ng,,+44 7400 654321\n4,Di,Ross,,+44 7400 654321\n")
    config = user_config(tmp_path, csv, "{record_id: id, first_name: first, last_name: last, email: mail, phone: tel}",
                         "  default_region: GB\n")
    result = resolve_job.run(spark, config)
    assert sorted(r.cluster_size for r in tables(spark, config, "identity_crosswalk")) == [1, 1, 1, 1]
    decided = {(r.record_id_l, r.record_id_r): r.decision for r in tables(spark, config, "match_pairs")}
    # The shared phones make them candidates; the names tell them apart: no pair reaches the threshold.
    assert {tuple(sorted(k)) for k in decided} == {("1", "2"), ("3", "4")} and "match" not in decided.values()
    assert result.metrics["customers"] == "4"
    omitted = {r.rule: r.omitted_reason for r in tables(spark, config, "blocking_diagnostics") if r.omitted_reason}
    assert omitted["postcode_name_sound"] == "not mapped: postcode" and "national_id" in omitted


@pytest.mark.heavy
def test_a_one_source_export_resolves_well_with_the_shipped_rules_alone(  # type: ignore[no-untyped-def]
        spark: SparkSession, pipeline, tmp_path: Path) -> None:
    """Names, a date of birth as YYYYMMDD, an address and a national id; no email, no phone."""
    shared, _ = pipeline
    export = Path(shared.raw_dir) / "people_export"
    mine = tmp_path / "export.yaml"
    mine.write_text(f"resolve:\n  input: {{path: {export}, format: csv}}\n"
                    "  columns: {record_id: id, first_name: first_name, last_name: surname, birth_date: dob, "
                    "national_id: national_id, street: street, postcode: zip, city: city, country: country}\n")
    config = load_config(PROJECT / "conf", "local", [f"storage.root={tmp_path / 'root'}", "spark.shuffle_partitions=2"],
                         [mine])
    assert set(config.resolve.omitted_blocking) == {"email", "phone", "email_mailbox"}
    result = resolve_job.run(spark, config)
    customer = {r.record_id: r.customer_id for r in tables(spark, config, "identity_crosswalk")}
    truth = table_store(spark, shared).read(Catalog(shared).path("truth_records")).filter("source = 'crm_customers'")
    person = {r.record_id: r.person_id for r in truth.select("record_id", "person_id").collect()}
    assert set(customer) == set(person)  # every CRM record, none lost

    def pairs(label: dict[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = {}
        for record, group in label.items():
            groups.setdefault(group, []).append(record)
        return {pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)}

    predicted, true = pairs(customer), pairs(person)
    precision, recall = len(predicted & true) / len(predicted), len(predicted & true) / len(true)
    assert 2 * precision * recall / (precision + recall) >= 0.99, (precision, recall)
    said = json.loads(result.metrics["warnings"])  # the rules left out are said, and nothing else went wrong
    assert said == [f"blocking rule {rule} left out (not mapped: {role})"
                    for rule, role in (("email", "email"), ("phone", "phone"), ("email_mailbox", "email"))]
