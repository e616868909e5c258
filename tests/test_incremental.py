"""Incremental resolution over batches ends exactly where full runs on the same data end."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.model import ResolveInput
from custseg.errors import InputDataError
from custseg.jobs import resolve as resolve_job
from custseg.runtime import JobResult, table_store
from tests.conftest import config_at

COLUMNS = ("source", "record_id", "first_name", "last_name", "birth_date", "email", "phone_e164", "street", "postcode",
           "city", "country", "gender", "created_at", "updated_at")


@pytest.fixture(scope="module")
def batches(spark: SparkSession, pipeline: tuple[Config, list[JobResult]],
            tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Five snapshots of generated customer records: arrivals, changes and deletions between
    them, then arrivals alone, then input rows that change without changing any matching value.
    The records are those of about 800 of the shared pipeline's people, every record of each."""
    root = tmp_path_factory.mktemp("incremental-source")
    source, _ = pipeline
    store, catalog = table_store(spark, source), Catalog(source)
    people = store.read(catalog.path("truth_records")).filter(F.pmod(F.col("person_id"), F.lit(15)) < 4)
    records = (store.read(catalog.path("customer_records")).join(people, ["source", "record_id"], "left_semi")
               .select(*COLUMNS))
    bucket = F.pmod(F.xxhash64(F.lit(11), "source", "record_id"), F.lit(100))
    changed_email = F.concat(F.lit("moved."), F.col("record_id"), F.lit("@example.org"))
    snapshots = [
        records.filter(bucket < 70),
        records.filter((bucket < 88) & ~bucket.between(10, 11))
        .withColumn("email", F.when(bucket.between(20, 21), changed_email).otherwise(F.col("email"))),
    ]
    last = records.filter(~bucket.between(10, 11) & ~bucket.between(40, 41)) \
        .withColumn("email", F.when(bucket.between(20, 21), changed_email).otherwise(F.col("email"))) \
        .withColumn("last_name", F.when(bucket == 50, F.concat("last_name", F.lit("-Hart")))
                    .otherwise(F.col("last_name")))
    snapshots += [last.filter(bucket < 95), last]   # the fourth batch only adds records
    # Upper-case emails: new input rows, the same matching values (emails match lower-cased).
    snapshots.append(last.withColumn("email", F.when(bucket.between(60, 64), F.upper("email"))
                                     .otherwise(F.col("email"))))
    paths = []
    for index, snapshot in enumerate(snapshots, start=1):
        path = str(root / f"batch-{index}")
        snapshot.write.parquet(path)
        paths.append(path)
    return paths


def _config(base: Config, root: Path, batch: str, model: str = "train", incremental: bool = False) -> Config:
    # A window of 3 makes sorted-neighbourhood blocks common even in this small data: whose
    # neighbour a record is depends on every member of its block, the hardest case to keep equal.
    settings = dataclasses.replace(base.resolve,
                                   input=ResolveInput(table=None, path=batch, format="parquet", options={}),
                                   model=model, incremental=incremental, evaluate=False, u_sample_pairs=40_000,
                                   blocking=[dataclasses.replace(rule, window=3) for rule in base.resolve.blocking])
    return config_at(base, root, resolve=settings, rules={})


def _state(spark: SparkSession, config: Config, runs: list[str]) -> dict[str, Any]:
    """What the runs leave behind, without the run ids and issue times that differ by design;
    the id changes of each run."""
    store, catalog = table_store(spark, config), Catalog(config)

    def rows(table: str, *drop: str) -> set:  # type: ignore[type-arg]
        frame = store.read(catalog.path(table))
        return {tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                             for k, v in r.asDict().items() if k not in drop))
                for r in frame.drop(*drop).collect()}

    pairs = {(r.source_l, r.record_id_l, r.source_r, r.record_id_r, r.decision, round(r.match_probability, 9))
             for r in store.read(catalog.path("match_pairs")).collect()}
    changes = store.read(catalog.path("identity_changes"))
    by_run = [{(r.change_type, r.customer_id, tuple(r.related_ids), r.records_moved, r.reason)
               for r in changes.filter(F.col("run_id") == run).collect()} for run in runs]
    return {"pairs": pairs, "crosswalk": rows("identity_crosswalk", "id_issued_at"),
            "id_map": rows("customer_id_map", "as_of_run"), "identities": rows("resolution_identities"),
            "keys": rows("resolution_block_keys"), "changes": by_run, "master": rows("customer_master")}


@pytest.fixture(scope="module")
def first_runs(spark: SparkSession, base_config: Config, batches: list[str],
               tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, JobResult, JobResult]:
    """Where both tests below start: the first batch resolved with training (root ``a``), then
    in full with the model that trained (root ``b``). Each test takes a copy of both roots."""
    root = tmp_path_factory.mktemp("incremental-first")
    trained = resolve_job.run(spark, _config(base_config, root / "a", batches[0]))
    full = resolve_job.run(spark, _config(base_config, root / "b", batches[0], trained.metrics["model_path"]))
    return root, trained, full


def _start_from(first_runs: tuple[Path, JobResult, JobResult], into: Path) -> tuple[JobResult, JobResult]:
    root, trained, full = first_runs
    for name in ("a", "b"):
        shutil.copytree(root / name, into / name)
    return trained, full


def test_incremental_runs_equal_full_runs(spark: SparkSession, base_config: Config, batches: list[str],
                                          first_runs: tuple[Path, JobResult, JobResult], tmp_path: Path) -> None:
    first, first_full = _start_from(first_runs, tmp_path)
    model = first.metrics["model_path"]
    results = [first]
    for batch in batches[1:]:
        results.append(resolve_job.run(spark, _config(base_config, tmp_path / "a", batch, model, incremental=True)))
    fulls = [first_full] + [resolve_job.run(spark, _config(base_config, tmp_path / "b", batch, model))
                            for batch in batches[1:]]

    incremental = _state(spark, _config(base_config, tmp_path / "a", batches[-1]), [r.run_id for r in results])
    full = _state(spark, _config(base_config, tmp_path / "b", batches[-1]), [r.run_id for r in fulls])
    for table in ("pairs", "crosswalk", "id_map", "changes", "identities", "keys", "master"):
        assert incremental[table] == full[table], table
    assert incremental["changes"][2] and incremental["changes"][3], "the third and fourth batches change some ids"
    full_config = _config(base_config, tmp_path / "b", batches[-1])
    diagnostics = table_store(spark, full_config).read(Catalog(full_config).path("blocking_diagnostics"))
    assert diagnostics.filter(F.col("run_id") == fulls[-1].run_id).agg(F.sum("windowed_blocks")).first()[0] > 0
    second, third = results[1].metrics, results[2].metrics
    assert int(second["incremental_new"]) > 100 and int(second["incremental_deleted"]) > 10
    assert int(second["incremental_changed"]) > 10 and int(third["incremental_changed"]) > 0
    assert int(second["incremental_touched"]) < int(float(second["records"]))   # only part of the data was revisited
    fourth = results[3]   # arrivals only: the state tables grow by the new records' rows
    assert int(fourth.metrics["incremental_new"]) > 0 and "incremental_changed" not in fourth.metrics
    # Only new and changed input rows were standardized; the rest kept their stored values.
    assert int(fourth.metrics["incremental_standardized"]) == int(fourth.metrics["incremental_new"])
    assert int(second["incremental_standardized"]) \
        == int(second["incremental_new"]) + int(second["incremental_changed"])
    assert fourth.rows_out["resolution_identities"] == int(fourth.metrics["incremental_new"])
    # Changed input rows with the same matching values: no record changed, but they were
    # standardized again and the state was rewritten with their new raw hashes.
    fifth = results[4]
    assert not any(k in fifth.metrics for k in ("incremental_new", "incremental_changed", "incremental_deleted"))
    assert int(fifth.metrics["incremental_standardized"]) > 0
    assert fifth.rows_out["resolution_identities"] == int(float(fifth.metrics["records"]))


def test_decisions_recorded_between_runs_move_untouched_pairs_as_in_a_full_run(
        spark: SparkSession, base_config: Config, batches: list[str], first_runs: tuple[Path, JobResult, JobResult],
        tmp_path: Path) -> None:
    first, _ = _start_from(first_runs, tmp_path)   # root b: the same data again, in full with the model
    model = first.metrics["model_path"]
    pairs = table_store(spark, _config(base_config, tmp_path / "a", batches[0])).read(
        Catalog(_config(base_config, tmp_path / "a", batches[0])).path("match_pairs"))
    accepted = pairs.filter(F.col("decision") == "match").orderBy("record_id_l", "record_id_r").first()
    rejected = pairs.filter(F.col("decision") == "non_match").orderBy("record_id_l", "record_id_r").first()
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("source_l,record_id_l,source_r,record_id_r,decision\n" + "".join(
        f"{p.source_l},{p.record_id_l},{p.source_r},{p.record_id_r},{label}\n"
        for p, label in ((accepted, "non_match"), (rejected, "match"))))

    def labelled(root: Path, model_path: str, incremental: bool) -> Config:
        config = _config(base_config, root, batches[0], model_path, incremental=incremental)
        return config.with_overrides(resolve=dataclasses.replace(config.resolve, decisions_file=str(decisions)))

    # The same data again: no record is touched, only the two decisions move pairs. Both
    # roots start from the same first run, so ids are carried over alike.
    again = resolve_job.run(spark, labelled(tmp_path / "a", model, incremental=True))
    full = resolve_job.run(spark, labelled(tmp_path / "b", model, incremental=False))
    assert "incremental_new" not in again.metrics and "incremental_changed" not in again.metrics
    incremental_state = _state(spark, labelled(tmp_path / "a", model, True), [again.run_id])
    full_state = _state(spark, labelled(tmp_path / "b", model, False), [full.run_id])
    for table in ("pairs", "crosswalk"):
        assert incremental_state[table] == full_state[table], table
    forced = {(p[1], p[3]): p[4] for p in incremental_state["pairs"]}
    assert forced[(accepted.record_id_l, accepted.record_id_r)] == "forced_non_match"
    assert forced[(rejected.record_id_l, rejected.record_id_r)] == "forced_match"


def test_incremental_needs_an_earlier_run(spark: SparkSession, base_config: Config, batches: list[str],
                                          tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match=r"resolve --incremental needs the state of an earlier resolve run"):
        resolve_job.run(spark, _config(base_config, tmp_path / "c", batches[0], "train", incremental=True))
