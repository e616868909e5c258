"""The single-machine anchors of the benchmarks do the work custseg does: DuckDB's features
equal custseg's on generated data, the Splink script's plan follows the column roles and its
clusters are scored like custseg's, and the scikit-learn search picks k as the job does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import math
import shutil
import sys
from collections.abc import Collection
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from sklearn.metrics import silhouette_score

from custseg.bench import anchors, duckdb_features, resolve_quality, sklearn_segment, splink_anchor
from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.model import SegmentSettings
from custseg.features import build_features, default_as_of
from custseg.features.customers import with_customer_ids
from custseg.features.profile import QUANTILE_ERROR
from custseg.resolve.evaluation import evaluate
from custseg.resolve.identities import record_node
from custseg.runtime import JobResult, table_store
from custseg.segment import preprocessing
from tests.conftest import PROJECT, config_at

SPLINK_PYTHON = PROJECT / ".venv-splink" / "bin" / "python"


def _script() -> ModuleType:
    """bench/splink_resolve.py, which runs in Splink's virtualenv; its plan needs no Splink."""
    spec = importlib.util.spec_from_file_location("splink_resolve", PROJECT / "bench" / "splink_resolve.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(pipeline: tuple[Config, list[JobResult]], tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A copy of the shared pipeline's tables (generated, ingested, cleaned, resolved): the
    anchors write beside them."""
    shared, _ = pipeline
    root = tmp_path_factory.mktemp("anchors") / "root"
    shutil.copytree(shared.root_dir, root)
    return config_at(shared, root)


def _read(spark: SparkSession, config: Config, name: str) -> DataFrame:
    return table_store(spark, config).read(Catalog(config).path(name))


def _spark_features(spark: SparkSession, config: Config) -> tuple[dt.date, DataFrame]:
    """custseg's features before treatment, from the tables the features job reads, as it reads them."""
    crosswalk = _read(spark, config, "identity_crosswalk").select("source", "record_id", "customer_id")
    orders_all, events_all = _read(spark, config, "orders_clean"), _read(spark, config, "events_clean")
    orders, events = with_customer_ids(crosswalk, orders_all, events_all)
    as_of = default_as_of(orders_all, events_all)
    return as_of, build_features(_read(spark, config, "customer_master"), orders,
                                 _read(spark, config, "order_lines_clean"), events, as_of, config.features)


SCORES = {"r_score": "recency_days", "f_score": "frequency", "m_score": "monetary"}


def _mismatches(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]],
                explained: Collection[tuple[str, str]] = ()) -> list[str]:
    """Every (customer, column) whose values differ, floats beyond 1e-9, but those ``explained``."""
    problems = [f"customers only in one: {sorted(set(expected) ^ set(actual))[:5]}"] if set(expected) != set(actual) \
        else []
    for customer in sorted(set(expected) & set(actual)):
        for column, want in expected[customer].items():
            got = actual[customer].get(column)
            same = (math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-9)
                    if isinstance(want, float) and isinstance(got, float) else want == got)
            if not same and (customer, column) not in explained:
                problems.append(f"{customer}.{column}: custseg {want!r}, DuckDB {got!r}")
    return problems


def _cut_differences(frame: DataFrame, expected: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """The RFM scores (and segments) that may differ: custseg cuts the quintiles at approximate
    quantiles (within features.profile.QUANTILE_ERROR of the rank), DuckDB at the exact rank
    ceil(q n); a value between the two cut points lands on either side."""
    buyers = frame.filter(F.col("frequency") > 0)
    approximate = buyers.approxQuantile(list(SCORES.values()), [0.2, 0.4, 0.6, 0.8], QUANTILE_ERROR)
    may_differ: set[tuple[str, str]] = set()
    for (score, column), cuts in zip(SCORES.items(), approximate, strict=True):
        values = sorted(v[column] for v in expected.values() if v["frequency"] > 0)
        exact = [values[math.ceil(q * len(values)) - 1] for q in (0.2, 0.4, 0.6, 0.8)]
        for customer, row in expected.items():
            if row["frequency"] > 0 and any(min(a, e) <= row[column] <= max(a, e)
                                            for a, e in zip(cuts, exact, strict=True) if a != e):
                may_differ |= {(customer, score), (customer, "rfm_segment")}
    return may_differ


def test_duckdb_computes_the_features_custseg_computes(spark: SparkSession, generated: Config) -> None:
    as_of, frame = _spark_features(spark, generated)
    expected = {row.customer_id: row.asDict() for row in frame.collect()}
    paths = {name: Catalog(generated).path(name) for name in duckdb_features.TABLES}
    connection = duckdb_features.connect()
    try:
        assert duckdb_features.default_as_of(connection, paths) == as_of
        relation = connection.sql(duckdb_features.features_sql(paths, as_of, generated.features))
        names = relation.columns
        actual = {row[0]: dict(zip(names, row, strict=True)) for row in relation.fetchall()}
    finally:
        connection.close()
    assert names == frame.columns
    values = list(expected.values())
    # The data exercise every part: buyers and browsers, every RFM score, ages and lifecycle stages.
    assert sum(v["frequency"] > 0 for v in values) > 100 and sum(v["sessions_90d"] > 0 for v in values) > 50
    assert sum(v["interpurchase_days_std"] is not None for v in values) > 50
    assert {v["r_score"] for v in values} == {0, 1, 2, 3, 4, 5} and len({v["rfm_segment"] for v in values}) >= 6
    assert len({v["lifecycle_stage"] for v in values}) >= 4 and sum(v["age"] is not None for v in values) > 100
    explained = _cut_differences(frame, expected)
    assert len(explained) < 0.05 * len(values)  # few customers sit between the two tools' cut points
    assert _mismatches(expected, actual, explained) == []
    # ... and a difference would show.
    customer = next(c for c, v in actual.items() if v["frequency"] > 0)
    altered = {**actual, customer: {**actual[customer], "monetary": actual[customer]["monetary"] * (1 + 1e-8)}}
    assert _mismatches(expected, altered, explained) == [
        f"{customer}.monetary: custseg {expected[customer]['monetary']!r}, DuckDB {altered[customer]['monetary']!r}"]


def test_the_features_anchor_writes_every_customer(spark: SparkSession, generated: Config) -> None:
    as_of, frame = _spark_features(spark, generated)
    anchor = anchors.features_anchor(generated, 10.0, as_of.isoformat())
    assert (anchor["tool"], anchor["rows"], anchor["as_of_date"], anchor["same_as_of"]) == (
        "duckdb", frame.count(), as_of.isoformat(), True)
    assert anchor["ratio"] == round(10.0 / anchor["seconds"], 2)
    assert pq.read_table(anchor["output"]).num_rows == anchor["rows"]


# -- Splink: the script's plan, the scoring, and a run where Splink's virtualenv exists ----------------

ROLES = {"source": "source", "record_id": "record_id", "first_name": "first_name", "last_name": "last_name",
         "birth_date": "birth_date", "email": "email", "phone": "phone_e164", "street": "street",
         "postcode": "postcode", "city": "city", "country": "country"}


def test_the_splink_plan_follows_the_column_roles() -> None:
    script = _script()
    full = script.plan(ROLES)
    assert full["roles"] == ["first_name", "last_name", "birth_date", "email", "phone", "street", "postcode", "city"]
    assert full["blocking_rules"] == [
        "l.email = r.email", "l.phone = r.phone",
        "l.birth_date = r.birth_date AND LEFT(l.last_name, 1) = LEFT(r.last_name, 1)",
        "l.postcode = r.postcode AND LEFT(l.last_name, 2) = LEFT(r.last_name, 2)",
        "l.city = r.city AND l.first_name = r.first_name AND l.last_name = r.last_name"]
    assert full["training_rules"] == [
        "l.first_name = r.first_name AND l.last_name = r.last_name AND l.birth_date = r.birth_date",
        "l.email = r.email"]
    by_role = {c["role"]: c for c in full["comparisons"]}
    assert by_role["first_name"] == {"role": "first_name", "library": "NameComparison", "term_frequency": True}
    assert [level["label_for_charts"] for level in by_role["phone"]["levels"]["comparison_levels"]] == [
        "null", "exact", "same last 7 digits", "different"]
    assert '"phone_l"' in by_role["phone"]["levels"]["comparison_levels"][2]["sql_condition"]
    # Fewer roles: the rules and comparisons needing the others go, the names stand in for each other.
    some = script.plan({"record_id": "id", "first_name": "given", "birth_date": "dob", "phone": "tel",
                        "postcode": "zip"})
    assert some["roles"] == ["first_name", "birth_date", "phone", "postcode"]
    assert some["blocking_rules"] == [
        "l.phone = r.phone", "l.birth_date = r.birth_date AND LEFT(l.first_name, 1) = LEFT(r.first_name, 1)",
        "l.postcode = r.postcode AND LEFT(l.first_name, 2) = LEFT(r.first_name, 2)"]
    assert some["training_rules"] == ["l.phone = r.phone"]
    assert "'input' AS source" in some["select"] and '"given"' in some["select"]
    with pytest.raises(ValueError, match="no column of a compared role"):
        script.plan({"record_id": "id", "country": "country"})
    with pytest.raises(ValueError, match="no record_id"):
        script.plan({"email": "email"})


def test_the_splink_matching_forms(tmp_path: Path) -> None:
    import duckdb

    script = _script()
    rows = pa.table({
        "source": ["crm", "web"], "record_id": ["1", "2"], "first_name": ["Zoë-Anne", "  "],
        "last_name": ["O'Neil", None], "birth_date": [dt.date(1980, 2, 29), None],
        "email": [" Ann.Lee@Example.COM ", ""], "phone_e164": ["+44 20 7946 0000", None],
        "street": ["  12   High  St ", None], "postcode": ["sw1a 1aa", None], "city": [" London", None],
        "country": ["GB", None]})
    pq.write_table(rows, tmp_path / "part-0.parquet")
    connection = duckdb.connect()
    prepared = connection.sql(f"SELECT {script.prepared_select(ROLES)} FROM read_parquet('{tmp_path}/*.parquet') "
                              "ORDER BY record_id").fetchall()
    assert prepared == [
        ("crm|1", "crm", "1", "zoeanne", "oneil", dt.date(1980, 2, 29), "ann.lee@example.com", "+442079460000",
         "12 high st", "SW1A 1AA", "london"),
        ("web|2", "web", "2", None, None, None, None, None, None, None, None)]


def _frame(spark: SparkSession, rows: list[tuple[Any, ...]], schema: str) -> DataFrame:
    return spark.createDataFrame(rows, schema)


def test_pairwise_quality_of_hand_made_clusters(spark: SparkSession) -> None:
    records = _frame(spark, [("s", str(i)) for i in range(1, 7)], "source string, record_id string")
    truth = _frame(spark, [("s", "1", "P"), ("s", "2", "P"), ("s", "3", "P"), ("s", "4", "Q"), ("s", "5", "Q"),
                           ("s", "6", "R"), ("s", "7", "R")], "source string, record_id string, person_id string")
    # Record 6 has no cluster (it stands alone); record 7 is not in the input.
    clusters = _frame(spark, [("s", "1", "a"), ("s", "2", "a"), ("s", "3", "b"), ("s", "4", "b"), ("s", "5", "b")],
                      "source string, record_id string, cluster string")
    quality = splink_anchor.pairwise_quality(records, clusters, truth)
    # Predicted pairs: 1-2, 3-4, 3-5, 4-5 (4); true: 1-2, 1-3, 2-3, 4-5 (4); agreeing: 1-2, 4-5.
    assert (quality["predicted_pairs"], quality["true_pairs"]) == (4.0, 4.0)
    assert (quality["pairwise_precision"], quality["pairwise_recall"], quality["pairwise_f1"]) == (0.5, 0.5, 0.5)
    # The same figures as the resolve job's own evaluation, for a crosswalk that holds every record.
    alone = _frame(spark, [("s", "6", "c")], "source string, record_id string, cluster string")
    crosswalk = clusters.unionByName(alone)
    node = record_node(F.col("source"), F.col("record_id")).alias("node")
    own = evaluate(truth.filter(F.col("record_id") != "7").select(node, F.col("person_id").alias("person")),
                   crosswalk.select(node, F.col("cluster").alias("component")),
                   _frame(spark, [], "node_l bigint, node_r bigint"), 6)
    assert {k: own[k] for k in ("pairwise_precision", "pairwise_recall", "pairwise_f1")} == {
        k: quality[k] for k in ("pairwise_precision", "pairwise_recall", "pairwise_f1")}


def test_bench_resolve_says_how_to_get_splink_when_its_virtualenv_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTSEG_SPLINK_PYTHON", str(tmp_path / "nowhere" / "python"))
    outcome = splink_anchor.run_splink(str(tmp_path), {"record_id": "id", "email": "email"}, 0.9, tmp_path / "w", 1)
    assert list(outcome) == ["skipped"] and "`make splink-venv`" in outcome["skipped"]
    assert outcome["skipped"].count(". ") == 0  # one sentence


def _input(spark: SparkSession, config: Config, folder: Path) -> DataFrame:
    """The generated records as Parquet, as bench-resolve hands them to both tools."""
    records = _read(spark, config, "customer_records")
    records.write.parquet(str(folder))
    return records


def test_without_splink_bench_resolve_reports_custseg_alone(
        spark: SparkSession, generated: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTSEG_SPLINK_PYTHON", str(tmp_path / "nowhere" / "python"))
    _input(spark, generated, tmp_path / "input")
    anchor = anchors.resolve_anchor(spark, generated, generated, str(tmp_path / "input"),
                                    {"seconds": 20.0, "peak_rss_mb": 1000}, tmp_path / "splink")
    assert sorted(anchor) == ["custseg", "skipped", "tool"] and "`make splink-venv`" in anchor["skipped"]
    # custseg's crosswalk, scored by the anchors' function, scores as the bench's own measurement does.
    assert math.isclose(anchor["custseg"]["pairwise_f1"], resolve_quality(spark, generated)["pairwise_f1"])
    row = anchors.resolve_anchor_table([{"started": "T", "records": 650, "anchor": anchor}]).splitlines()[-1]
    assert row.startswith("| T | 650 | 20.0 | - | - | ") and row.endswith(" | - | 1,000 | - | - |")


@pytest.mark.heavy
@pytest.mark.skipif(not SPLINK_PYTHON.exists(), reason="Splink's virtualenv is missing: `make splink-venv` creates it")
def test_splink_resolves_generated_records(spark: SparkSession, generated: Config, tmp_path: Path) -> None:
    records = _input(spark, generated, tmp_path / "input")
    anchor = anchors.resolve_anchor(spark, generated, generated, str(tmp_path / "input"),
                                    {"seconds": 20.0, "peak_rss_mb": 1000}, tmp_path / "splink")
    assert "skipped" not in anchor, anchor
    splink = anchor["splink"]
    clusters = spark.read.parquet(splink["clusters_path"])
    assert clusters.columns == ["source", "record_id", "cluster_id"]
    assert clusters.count() == records.count() == splink["records"]
    assert clusters.join(records, ["source", "record_id"], "left_anti").count() == 0
    assert splink["candidate_pairs"] >= splink["accepted_pairs"] > 0 and splink["peak_rss_mb"] > 0
    assert splink["process_seconds"] >= splink["seconds"] and anchor["ratio"] == round(20.0 / splink["seconds"], 2)
    assert splink["pairwise_f1"] > 0.9, splink
    row = anchors.resolve_anchor_table([{"started": "T", "records": 650, "anchor": anchor}]).splitlines()[-1]
    assert f"| {splink['seconds']} | {anchor['ratio']} |" in row


def test_the_anchor_table_shows_a_skipped_anchor() -> None:
    report = {"started": "T", "scale": 2000, "stages": [{"stage": "features", "seconds": 12.5}],
              "anchors": {"features": {"tool": "duckdb", "skipped": "the DuckDB anchor needs duckdb"}}}
    assert anchors.pipeline_anchor_table([report]).splitlines()[-1] == (
        "| T | 2,000 | features | 12.5 | duckdb | - | - | skipped: the DuckDB anchor needs duckdb |")


# -- scikit-learn: the k search and final fit ------------------------------------------------------------

def _blobs(per_blob: int = 100) -> np.ndarray:
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.vstack([centre + rng.normal(scale=0.5, size=(per_blob, 2)) for centre in centres])


def test_the_sklearn_search_finds_the_blobs_and_refits_only_beyond_the_sample() -> None:
    matrix = _blobs()
    settings = SegmentSettings(k_min=2, k_max=5, sample_size=1000, restarts=2, max_iterations=20, seed=1,
                               features=["x", "y"])
    whole = sklearn_segment.search(matrix, settings)
    assert [t.k for t in whole.tried] == [2, 3, 4, 5] and whole.best.k == 3
    assert whole.sample_rows == 300 and whole.final_fit_seconds == 0.0
    assert whole.best.silhouette == max(t.silhouette for t in whole.tried) > 0.9
    assert math.isclose(whole.best.smallest_share, 1 / 3)
    sampled = sklearn_segment.search(matrix, dataclasses.replace(settings, sample_size=150))
    assert sampled.sample_rows == 150 and sampled.best.k == 3 and sampled.final_fit_seconds > 0
    # No k keeps a segment of 40% of the customers: the best silhouette wins anyway.
    strict = sklearn_segment.search(matrix, dataclasses.replace(settings, min_segment_share=0.4))
    assert not any(t.eligible for t in strict.tried) and strict.best.k == 3


def test_the_sklearn_silhouette_is_by_squared_distance() -> None:
    matrix = _blobs(20)
    settings = SegmentSettings(k_min=2, k_max=2, sample_size=1000, restarts=1, max_iterations=20, seed=1,
                               features=["x", "y"])
    (tried,) = sklearn_segment.search(matrix, settings).tried
    # k=2 sets one blob apart from the other two: the one at x=10 or the one at y=10.
    splits = [(matrix[:, 0] > 5).astype(int), (matrix[:, 1] > 5).astype(int)]
    assert any(math.isclose(tried.silhouette, silhouette_score(matrix, s, metric="sqeuclidean")) for s in splits)
    assert not any(math.isclose(tried.silhouette, silhouette_score(matrix, s, metric="euclidean")) for s in splits)


def test_the_prepared_matrix_is_the_segment_pipelines_output(spark: SparkSession) -> None:
    settings = SegmentSettings(features=["frequency", "monetary"], log_features=["monetary"], pca_variance_share=None)
    features = _frame(spark, [("a", 1, 10.0), ("b", 4, None), ("c", 2, 1000.0), ("d", 8, 55.5)],
                      "customer_id string, frequency int, monetary double")
    matrix = sklearn_segment.prepared_matrix(features, settings)
    expected = preprocessing(settings).fit(features).transform(features).select("features_scaled").collect()
    assert matrix.shape == (4, 2)
    assert np.allclose(matrix, np.array([row[0].toArray() for row in expected]))
